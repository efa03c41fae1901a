/*
 * The command table: one row per implemented command, sorted by command code. Handles and
 * their authorization roles follow each command's table in Part 3 ("Auth Index", "Auth
 * Role"); flags give TPMA_CC (Part 2 §8.9) and what the dispatcher may do with parameters.
 * A command absent here answers TPM_RC_COMMAND_CODE and is not reported by GetCapability.
 */
#include "cmd.h"

#define OPS(X) extern const struct cmd_ops ops_##X
OPS(HierarchyControl);
OPS(Clear);
OPS(ClearControl);
OPS(HierarchyChangeAuth);
OPS(PCR_Allocate);
OPS(DictionaryAttackLockReset);
OPS(DictionaryAttackParameters);
OPS(PCR_Event);
OPS(PCR_Reset);
OPS(SequenceComplete);
OPS(IncrementalSelfTest);
OPS(SelfTest);
OPS(Startup);
OPS(Shutdown);
OPS(StirRandom);
OPS(SequenceUpdate);
OPS(GetCapability);
OPS(GetRandom);
OPS(GetTestResult);
OPS(Hash);
OPS(PCR_Read);
OPS(ReadClock);
OPS(PCR_Extend);
OPS(EventSequenceComplete);
OPS(HashSequenceStart);
OPS(TestParms);
OPS(CreateLoaded);
OPS(ActivateCredential);
OPS(Duplicate);
OPS(Rewrap);
OPS(Import);
OPS(MakeCredential);
OPS(EvictControl);
OPS(ChangeEPS);
OPS(ChangePPS);
OPS(SetPrimaryPolicy);
OPS(CreatePrimary);
OPS(ObjectChangeAuth);
OPS(Create);
OPS(Load);
OPS(Unseal);
OPS(ContextLoad);
OPS(ContextSave);
OPS(FlushContext);
OPS(LoadExternal);
OPS(ReadPublic);
OPS(ClockSet);
OPS(ClockRateAdjust);
OPS(SetCommandCodeAuditStatus);
OPS(PolicySecret);
OPS(PolicyAuthValue);
OPS(PolicyAuthorize);
OPS(PolicyCommandCode);
OPS(PolicyCounterTimer);
OPS(PolicyCpHash);
OPS(PolicyLocality);
OPS(PolicyNameHash);
OPS(PolicyOR);
OPS(PolicyTicket);
OPS(StartAuthSession);
OPS(PolicyPCR);
OPS(PolicyRestart);
OPS(PolicyPhysicalPresence);
OPS(PolicyDuplicationSelect);
OPS(PolicyGetDigest);
OPS(PolicyPassword);
OPS(PolicyNvWritten);
OPS(PolicyTemplate);
OPS(NV_UndefineSpaceSpecial);
OPS(NV_UndefineSpace);
OPS(NV_DefineSpace);
OPS(NV_GlobalWriteLock);
OPS(NV_Increment);
OPS(NV_SetBits);
OPS(NV_Extend);
OPS(NV_Write);
OPS(NV_WriteLock);
OPS(NV_ChangeAuth);
OPS(PolicyNV);
OPS(NV_Read);
OPS(NV_ReadLock);
OPS(NV_ReadPublic);
OPS(PolicyAuthorizeNV);
OPS(GetCommandAuditDigest);
OPS(Certify);
OPS(CertifyCreation);
OPS(GetTime);
OPS(GetSessionAuditDigest);
OPS(ECDH_ZGen);
OPS(HMAC);
OPS(Quote);
OPS(RSA_Decrypt);
OPS(HMAC_Start);
OPS(Sign);
OPS(PolicySigned);
OPS(ECDH_KeyGen);
OPS(EncryptDecrypt);
OPS(RSA_Encrypt);
OPS(VerifySignature);
OPS(ECC_Parameters);
OPS(Commit);
OPS(ZGen_2Phase);
OPS(EC_Ephemeral);
OPS(EncryptDecrypt2);
OPS(NV_Certify);

/* A handle: its interface type and authorization role; HN also accepts TPM_RH_NULL. */
#define H(kind, role) {HK_##kind, ROLE_##role, false}
#define HN(kind, role) {HK_##kind, ROLE_##role, true}
#define NOH {HK_NONE, ROLE_NONE, false}
#define ROW(X, n, h0, h1, h2, flags) {TPM_CC_##X, #X, n, {h0, h1, h2}, flags, &ops_##X}

#define NV CMDF_NV
#define EXT CMDF_EXTENSIVE
#define FLUSH CMDF_FLUSHED
#define RH CMDF_RHANDLE
#define EIN CMDF_ENC_IN
#define EOUT CMDF_ENC_OUT
#define NOSESS CMDF_NO_SESS

const struct cmd_def cmd_table[] = {
    ROW(NV_UndefineSpaceSpecial, 2, H(RH_NV_INDEX, ADMIN), H(RH_PLATFORM, USER), NOH, NV),
    ROW(EvictControl, 2, H(RH_PROVISION, USER), H(DH_OBJECT, NONE), NOH, NV),
    ROW(HierarchyControl, 1, H(RH_HIERARCHY, USER), NOH, NOH, NV),
    ROW(NV_UndefineSpace, 2, H(RH_PROVISION, USER), H(RH_NV_INDEX, NONE), NOH, NV),
    ROW(ChangeEPS, 1, H(RH_PLATFORM, USER), NOH, NOH, NV),
    ROW(ChangePPS, 1, H(RH_PLATFORM, USER), NOH, NOH, NV),
    ROW(Clear, 1, H(RH_CLEAR, USER), NOH, NOH, NV),
    ROW(ClearControl, 1, H(RH_CLEAR, USER), NOH, NOH, NV),
    ROW(ClockSet, 1, H(RH_PROVISION, USER), NOH, NOH, NV),
    ROW(HierarchyChangeAuth, 1, H(RH_HIERARCHY_AUTH, USER), NOH, NOH, NV | EIN),
    ROW(NV_DefineSpace, 1, H(RH_PROVISION, USER), NOH, NOH, NV | EIN),
    ROW(PCR_Allocate, 1, H(RH_PLATFORM, USER), NOH, NOH, NV),
    ROW(SetPrimaryPolicy, 1, H(RH_HIERARCHY_POLICY, USER), NOH, NOH, NV | EIN),
    ROW(ClockRateAdjust, 1, H(RH_PROVISION, USER), NOH, NOH, 0),
    ROW(CreatePrimary, 1, HN(RH_HIERARCHY, USER), NOH, NOH, RH | EIN | EOUT),
    ROW(NV_GlobalWriteLock, 1, H(RH_PROVISION, USER), NOH, NOH, NV),
    ROW(GetCommandAuditDigest, 2, H(RH_ENDORSEMENT, USER), HN(DH_OBJECT, USER), NOH,
        NV | EIN | EOUT),
    ROW(NV_Increment, 2, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), NOH, NV),
    ROW(NV_SetBits, 2, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), NOH, NV),
    ROW(NV_Extend, 2, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), NOH, NV | EIN),
    ROW(NV_Write, 2, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), NOH, NV | EIN),
    ROW(NV_WriteLock, 2, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), NOH, NV),
    ROW(DictionaryAttackLockReset, 1, H(RH_LOCKOUT, USER), NOH, NOH, NV),
    ROW(DictionaryAttackParameters, 1, H(RH_LOCKOUT, USER), NOH, NOH, NV),
    ROW(NV_ChangeAuth, 1, H(RH_NV_INDEX, ADMIN), NOH, NOH, NV | EIN),
    ROW(PCR_Event, 1, HN(DH_PCR, USER), NOH, NOH, NV | EIN),
    ROW(PCR_Reset, 1, H(DH_PCR, USER), NOH, NOH, NV),
    ROW(SequenceComplete, 1, H(DH_OBJECT, USER), NOH, NOH, FLUSH | EIN | EOUT),
    ROW(SetCommandCodeAuditStatus, 1, H(RH_PROVISION, USER), NOH, NOH, NV),
    ROW(IncrementalSelfTest, 0, NOH, NOH, NOH, EXT),
    ROW(SelfTest, 0, NOH, NOH, NOH, EXT),
    ROW(Startup, 0, NOH, NOH, NOH, NV | NOSESS),
    ROW(Shutdown, 0, NOH, NOH, NOH, NV),
    ROW(StirRandom, 0, NOH, NOH, NOH, NV | EIN),
    ROW(ActivateCredential, 2, H(DH_OBJECT, ADMIN), H(DH_OBJECT, USER), NOH, EIN | EOUT),
    ROW(Certify, 2, H(DH_OBJECT, ADMIN), HN(DH_OBJECT, USER), NOH, EIN | EOUT),
    ROW(PolicyNV, 3, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), H(SH_POLICY, NONE), EIN),
    ROW(CertifyCreation, 2, HN(DH_OBJECT, USER), H(DH_OBJECT, NONE), NOH, EIN | EOUT),
    ROW(Duplicate, 2, H(DH_OBJECT, DUP), HN(DH_OBJECT, NONE), NOH, EIN | EOUT),
    ROW(GetTime, 2, H(RH_ENDORSEMENT, USER), HN(DH_OBJECT, USER), NOH, EIN | EOUT),
    ROW(GetSessionAuditDigest, 3, H(RH_ENDORSEMENT, USER), HN(DH_OBJECT, USER), H(SH_HMAC, NONE),
        EIN | EOUT),
    ROW(NV_Read, 2, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), NOH, EOUT),
    ROW(NV_ReadLock, 2, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), NOH, NV),
    ROW(ObjectChangeAuth, 2, H(DH_OBJECT, ADMIN), H(DH_OBJECT, NONE), NOH, EIN | EOUT),
    ROW(PolicySecret, 2, H(DH_ENTITY, USER), H(SH_POLICY, NONE), NOH, EIN | EOUT),
    ROW(Rewrap, 2, HN(DH_OBJECT, USER), HN(DH_OBJECT, NONE), NOH, EIN | EOUT),
    ROW(Create, 1, H(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
    ROW(ECDH_ZGen, 1, H(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
    ROW(HMAC, 1, H(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
    ROW(Import, 1, H(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
    ROW(Load, 1, H(DH_OBJECT, USER), NOH, NOH, RH | EIN | EOUT),
    ROW(Quote, 1, HN(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
    ROW(RSA_Decrypt, 1, H(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
    ROW(HMAC_Start, 1, H(DH_OBJECT, USER), NOH, NOH, RH | EIN),
    ROW(SequenceUpdate, 1, H(DH_OBJECT, USER), NOH, NOH, EIN),
    ROW(Sign, 1, H(DH_OBJECT, USER), NOH, NOH, EIN),
    ROW(Unseal, 1, H(DH_OBJECT, USER), NOH, NOH, EOUT),
    ROW(PolicySigned, 2, H(DH_OBJECT, NONE), H(SH_POLICY, NONE), NOH, EIN | EOUT),
    ROW(ContextLoad, 0, NOH, NOH, NOH, RH),
    ROW(ContextSave, 1, H(DH_CONTEXT, NONE), NOH, NOH, 0),
    ROW(ECDH_KeyGen, 1, H(DH_OBJECT, NONE), NOH, NOH, EOUT),
    ROW(EncryptDecrypt, 1, H(DH_OBJECT, USER), NOH, NOH, EOUT),
    ROW(FlushContext, 0, NOH, NOH, NOH, 0),
    ROW(LoadExternal, 0, NOH, NOH, NOH, RH | EIN | EOUT),
    ROW(MakeCredential, 1, H(DH_OBJECT, NONE), NOH, NOH, EIN | EOUT),
    ROW(NV_ReadPublic, 1, H(RH_NV_INDEX, NONE), NOH, NOH, EOUT),
    ROW(PolicyAuthorize, 1, H(SH_POLICY, NONE), NOH, NOH, EIN),
    ROW(PolicyAuthValue, 1, H(SH_POLICY, NONE), NOH, NOH, 0),
    ROW(PolicyCommandCode, 1, H(SH_POLICY, NONE), NOH, NOH, 0),
    ROW(PolicyCounterTimer, 1, H(SH_POLICY, NONE), NOH, NOH, EIN),
    ROW(PolicyCpHash, 1, H(SH_POLICY, NONE), NOH, NOH, EIN),
    ROW(PolicyLocality, 1, H(SH_POLICY, NONE), NOH, NOH, 0),
    ROW(PolicyNameHash, 1, H(SH_POLICY, NONE), NOH, NOH, EIN),
    ROW(PolicyOR, 1, H(SH_POLICY, NONE), NOH, NOH, 0),
    ROW(PolicyTicket, 1, H(SH_POLICY, NONE), NOH, NOH, EIN),
    ROW(ReadPublic, 1, H(DH_OBJECT, NONE), NOH, NOH, EOUT),
    ROW(RSA_Encrypt, 1, H(DH_OBJECT, NONE), NOH, NOH, EIN | EOUT),
    ROW(StartAuthSession, 2, HN(DH_OBJECT, NONE), HN(DH_ENTITY, NONE), NOH, RH | EIN | EOUT),
    ROW(VerifySignature, 1, H(DH_OBJECT, NONE), NOH, NOH, EIN),
    ROW(ECC_Parameters, 0, NOH, NOH, NOH, 0),
    ROW(GetCapability, 0, NOH, NOH, NOH, 0),
    ROW(GetRandom, 0, NOH, NOH, NOH, EOUT),
    ROW(GetTestResult, 0, NOH, NOH, NOH, 0),
    ROW(Hash, 0, NOH, NOH, NOH, EIN | EOUT),
    ROW(PCR_Read, 0, NOH, NOH, NOH, 0),
    ROW(PolicyPCR, 1, H(SH_POLICY, NONE), NOH, NOH, EIN),
    ROW(PolicyRestart, 1, H(SH_POLICY, NONE), NOH, NOH, 0),
    ROW(ReadClock, 0, NOH, NOH, NOH, 0),
    ROW(PCR_Extend, 1, HN(DH_PCR, USER), NOH, NOH, NV),
    ROW(NV_Certify, 3, HN(DH_OBJECT, USER), H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE),
        EIN | EOUT),
    ROW(EventSequenceComplete, 2, HN(DH_PCR, USER), H(DH_OBJECT, USER), NOH, NV | FLUSH | EIN),
    ROW(HashSequenceStart, 0, NOH, NOH, NOH, RH | EIN),
    ROW(PolicyPhysicalPresence, 1, H(SH_POLICY, NONE), NOH, NOH, 0),
    ROW(PolicyDuplicationSelect, 1, H(SH_POLICY, NONE), NOH, NOH, EIN),
    ROW(PolicyGetDigest, 1, H(SH_POLICY, NONE), NOH, NOH, EOUT),
    ROW(TestParms, 0, NOH, NOH, NOH, 0),
    ROW(Commit, 1, H(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
    ROW(PolicyPassword, 1, H(SH_POLICY, NONE), NOH, NOH, 0),
    ROW(ZGen_2Phase, 1, H(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
    ROW(EC_Ephemeral, 0, NOH, NOH, NOH, EOUT),
    ROW(PolicyNvWritten, 1, H(SH_POLICY, NONE), NOH, NOH, 0),
    ROW(PolicyTemplate, 1, H(SH_POLICY, NONE), NOH, NOH, EIN),
    ROW(CreateLoaded, 1, HN(DH_PARENT, USER), NOH, NOH, RH | EIN | EOUT),
    ROW(PolicyAuthorizeNV, 3, H(RH_NV_AUTH, USER), H(RH_NV_INDEX, NONE), H(SH_POLICY, NONE), 0),
    ROW(EncryptDecrypt2, 1, H(DH_OBJECT, USER), NOH, NOH, EIN | EOUT),
};

const size_t cmd_table_len = sizeof(cmd_table) / sizeof(cmd_table[0]);
