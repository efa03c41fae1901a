/*
 * Our TCG constants (src/tpm/tpm_consts.h) against an independent copy: libtss2-dev's
 * tss2_tpm2_types.h. A typo in a command code or response code would pass every test that
 * uses our own header on both sides; this one catches it. The two headers cannot meet in one
 * translation unit (both define the TPMA_ names), so ours come as a table from consts_ours.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <tss2/tss2_tpm2_types.h>

#include "consts_ours.h"

static const uint64_t theirs[] = {
    TPM2_CC_NV_UndefineSpaceSpecial, /* TPM_CC_NV_UndefineSpaceSpecial */
    TPM2_CC_EvictControl, /* TPM_CC_EvictControl */
    TPM2_CC_HierarchyControl, /* TPM_CC_HierarchyControl */
    TPM2_CC_Clear, /* TPM_CC_Clear */
    TPM2_CC_ClearControl, /* TPM_CC_ClearControl */
    TPM2_CC_HierarchyChangeAuth, /* TPM_CC_HierarchyChangeAuth */
    TPM2_CC_NV_DefineSpace, /* TPM_CC_NV_DefineSpace */
    TPM2_CC_PCR_Allocate, /* TPM_CC_PCR_Allocate */
    TPM2_CC_CreatePrimary, /* TPM_CC_CreatePrimary */
    TPM2_CC_DictionaryAttackLockReset, /* TPM_CC_DictionaryAttackLockReset */
    TPM2_CC_DictionaryAttackParameters, /* TPM_CC_DictionaryAttackParameters */
    TPM2_CC_PCR_Event, /* TPM_CC_PCR_Event */
    TPM2_CC_PCR_Reset, /* TPM_CC_PCR_Reset */
    TPM2_CC_SequenceComplete, /* TPM_CC_SequenceComplete */
    TPM2_CC_IncrementalSelfTest, /* TPM_CC_IncrementalSelfTest */
    TPM2_CC_SelfTest, /* TPM_CC_SelfTest */
    TPM2_CC_Startup, /* TPM_CC_Startup */
    TPM2_CC_Shutdown, /* TPM_CC_Shutdown */
    TPM2_CC_StirRandom, /* TPM_CC_StirRandom */
    TPM2_CC_PolicySecret, /* TPM_CC_PolicySecret */
    TPM2_CC_Create, /* TPM_CC_Create */
    TPM2_CC_Load, /* TPM_CC_Load */
    TPM2_CC_SequenceUpdate, /* TPM_CC_SequenceUpdate */
    TPM2_CC_Unseal, /* TPM_CC_Unseal */
    TPM2_CC_ContextLoad, /* TPM_CC_ContextLoad */
    TPM2_CC_ContextSave, /* TPM_CC_ContextSave */
    TPM2_CC_FlushContext, /* TPM_CC_FlushContext */
    TPM2_CC_PolicyAuthorize, /* TPM_CC_PolicyAuthorize */
    TPM2_CC_PolicyAuthValue, /* TPM_CC_PolicyAuthValue */
    TPM2_CC_PolicyCommandCode, /* TPM_CC_PolicyCommandCode */
    TPM2_CC_PolicyCounterTimer, /* TPM_CC_PolicyCounterTimer */
    TPM2_CC_PolicyCpHash, /* TPM_CC_PolicyCpHash */
    TPM2_CC_PolicyLocality, /* TPM_CC_PolicyLocality */
    TPM2_CC_PolicyNameHash, /* TPM_CC_PolicyNameHash */
    TPM2_CC_PolicyOR, /* TPM_CC_PolicyOR */
    TPM2_CC_PolicyTicket, /* TPM_CC_PolicyTicket */
    TPM2_CC_StartAuthSession, /* TPM_CC_StartAuthSession */
    TPM2_CC_GetCapability, /* TPM_CC_GetCapability */
    TPM2_CC_GetRandom, /* TPM_CC_GetRandom */
    TPM2_CC_GetTestResult, /* TPM_CC_GetTestResult */
    TPM2_CC_Hash, /* TPM_CC_Hash */
    TPM2_CC_PCR_Read, /* TPM_CC_PCR_Read */
    TPM2_CC_PolicyPCR, /* TPM_CC_PolicyPCR */
    TPM2_CC_PolicyRestart, /* TPM_CC_PolicyRestart */
    TPM2_CC_ReadClock, /* TPM_CC_ReadClock */
    TPM2_CC_PCR_Extend, /* TPM_CC_PCR_Extend */
    TPM2_CC_EventSequenceComplete, /* TPM_CC_EventSequenceComplete */
    TPM2_CC_HashSequenceStart, /* TPM_CC_HashSequenceStart */
    TPM2_CC_PolicyPhysicalPresence, /* TPM_CC_PolicyPhysicalPresence */
    TPM2_CC_PolicyDuplicationSelect, /* TPM_CC_PolicyDuplicationSelect */
    TPM2_CC_PolicyGetDigest, /* TPM_CC_PolicyGetDigest */
    TPM2_CC_TestParms, /* TPM_CC_TestParms */
    TPM2_CC_PolicyPassword, /* TPM_CC_PolicyPassword */
    TPM2_CC_PolicyNvWritten, /* TPM_CC_PolicyNvWritten */
    TPM2_CC_PolicyTemplate, /* TPM_CC_PolicyTemplate */
    TPM2_CC_CreateLoaded, /* TPM_CC_CreateLoaded */
    TPM2_CC_PolicyAuthorizeNV, /* TPM_CC_PolicyAuthorizeNV */
    TPM2_CC_EncryptDecrypt2, /* TPM_CC_EncryptDecrypt2 */
    TPM2_CC_ACT_SetTimeout, /* TPM_CC_ACT_SetTimeout */
    TPM2_RC_INITIALIZE, /* TPM_RC_INITIALIZE */
    TPM2_RC_FAILURE, /* TPM_RC_FAILURE */
    TPM2_RC_AUTH_MISSING, /* TPM_RC_AUTH_MISSING */
    TPM2_RC_COMMAND_SIZE, /* TPM_RC_COMMAND_SIZE */
    TPM2_RC_COMMAND_CODE, /* TPM_RC_COMMAND_CODE */
    TPM2_RC_AUTHSIZE, /* TPM_RC_AUTHSIZE */
    TPM2_RC_AUTH_CONTEXT, /* TPM_RC_AUTH_CONTEXT */
    TPM2_RC_NV_SPACE, /* TPM_RC_NV_SPACE */
    TPM2_RC_SENSITIVE, /* TPM_RC_SENSITIVE */
    TPM2_RC_AUTH_TYPE, /* TPM_RC_AUTH_TYPE */
    TPM2_RC_AUTH_UNAVAILABLE, /* TPM_RC_AUTH_UNAVAILABLE */
    TPM2_RC_PCR_CHANGED, /* TPM_RC_PCR_CHANGED */
    TPM2_RC_ASYMMETRIC, /* TPM_RC_ASYMMETRIC */
    TPM2_RC_HASH, /* TPM_RC_HASH */
    TPM2_RC_VALUE, /* TPM_RC_VALUE */
    TPM2_RC_HANDLE, /* TPM_RC_HANDLE */
    TPM2_RC_AUTH_FAIL, /* TPM_RC_AUTH_FAIL */
    TPM2_RC_SIZE, /* TPM_RC_SIZE */
    TPM2_RC_INSUFFICIENT, /* TPM_RC_INSUFFICIENT */
    TPM2_RC_POLICY_FAIL, /* TPM_RC_POLICY_FAIL */
    TPM2_RC_BAD_AUTH, /* TPM_RC_BAD_AUTH */
    TPM2_RC_ECC_POINT, /* TPM_RC_ECC_POINT */
    TPM2_RC_CONTEXT_GAP, /* TPM_RC_CONTEXT_GAP */
    TPM2_RC_REFERENCE_H0, /* TPM_RC_REFERENCE_H0 */
    TPM2_RC_REFERENCE_S0, /* TPM_RC_REFERENCE_S0 */
    TPM2_RC_LOCKOUT, /* TPM_RC_LOCKOUT */
    TPM2_RC_NV_UNAVAILABLE, /* TPM_RC_NV_UNAVAILABLE */
    TPM2_RC_BAD_TAG, /* TPM_RC_BAD_TAG */
    TPM2_RH_OWNER, /* TPM_RH_OWNER */
    TPM2_RH_NULL, /* TPM_RH_NULL */
    TPM2_RS_PW, /* TPM_RS_PW */
    TPM2_RH_LOCKOUT, /* TPM_RH_LOCKOUT */
    TPM2_RH_ENDORSEMENT, /* TPM_RH_ENDORSEMENT */
    TPM2_RH_PLATFORM, /* TPM_RH_PLATFORM */
    TPM2_RH_PLATFORM_NV, /* TPM_RH_PLATFORM_NV */
    TPM2_ALG_SHA1, /* TPM_ALG_SHA1 */
    TPM2_ALG_SHA256, /* TPM_ALG_SHA256 */
    TPM2_ALG_SHA384, /* TPM_ALG_SHA384 */
    TPM2_ALG_SHA512, /* TPM_ALG_SHA512 */
    TPM2_ALG_KEYEDHASH, /* TPM_ALG_KEYEDHASH */
    TPM2_ALG_SYMCIPHER, /* TPM_ALG_SYMCIPHER */
    TPM2_ALG_ECC, /* TPM_ALG_ECC */
    TPM2_ALG_CFB, /* TPM_ALG_CFB */
    TPM2_ALG_OAEP, /* TPM_ALG_OAEP */
    TPM2_ALG_ECSCHNORR, /* TPM_ALG_ECSCHNORR */
    TPM2_PT_NV_BUFFER_MAX, /* TPM_PT_NV_BUFFER_MAX */
    TPM2_PT_MAX_CAP_BUFFER, /* TPM_PT_MAX_CAP_BUFFER */
    TPM2_PT_AUDIT_COUNTER_1, /* TPM_PT_AUDIT_COUNTER_1 */
    TPM2_PT_PCR_DRTM_RESET, /* TPM_PT_PCR_DRTM_RESET */
    TPM2_ST_ATTEST_QUOTE, /* TPM_ST_ATTEST_QUOTE */
    TPM2_ST_HASHCHECK, /* TPM_ST_HASHCHECK */
    TPM2_ECC_NIST_P384, /* TPM_ECC_NIST_P384 */
    TPM2_GENERATED_VALUE, /* TPM_GENERATED_VALUE */
    TPMA_OBJECT_SIGN_ENCRYPT, /* TPMA_OBJECT_SIGN_ENCRYPT */
    TPMA_OBJECT_ENCRYPTEDDUPLICATION, /* TPMA_OBJECT_ENCRYPTEDDUPLICATION */
    TPMA_NV_READ_STCLEAR, /* TPMA_NV_READ_STCLEAR */
    TPMA_NV_POLICY_DELETE, /* TPMA_NV_POLICY_DELETE */
    TPMA_CC_RHANDLE, /* TPMA_CC_RHANDLE */
    TPMA_CC_FLUSHED, /* TPMA_CC_FLUSHED */
    TPMA_STARTUP_CLEAR_ORDERLY, /* TPMA_STARTUP_CLEAR_ORDERLY */
    TPMA_OBJECT_FIXEDTPM, /* TPMA_OBJECT_FIXEDTPM */
    TPMA_OBJECT_RESTRICTED, /* TPMA_OBJECT_RESTRICTED */
    TPMA_OBJECT_USERWITHAUTH, /* TPMA_OBJECT_USERWITHAUTH */
    TPMA_OBJECT_ADMINWITHPOLICY, /* TPMA_OBJECT_ADMINWITHPOLICY */
    TPMA_OBJECT_NODA, /* TPMA_OBJECT_NODA */
    TPMA_NV_WRITTEN, /* TPMA_NV_WRITTEN */
    TPMA_NV_PLATFORMCREATE, /* TPMA_NV_PLATFORMCREATE */
    TPMA_NV_AUTHREAD, /* TPMA_NV_AUTHREAD */
    TPMA_NV_POLICYWRITE, /* TPMA_NV_POLICYWRITE */
    TPMA_SESSION_DECRYPT, /* TPMA_SESSION_DECRYPT */
    TPMA_SESSION_ENCRYPT, /* TPMA_SESSION_ENCRYPT */
    TPMA_SESSION_AUDIT, /* TPMA_SESSION_AUDIT */
    TPMA_PERMANENT_INLOCKOUT, /* TPMA_PERMANENT_INLOCKOUT */
    TPMA_ALGORITHM_SIGNING, /* TPMA_ALGORITHM_SIGNING */
};

static void every_constant_matches(void **state)
{
    (void)state;
    assert_int_equal(ours_consts_count, sizeof(theirs) / sizeof(theirs[0]));
    for (size_t i = 0; i < ours_consts_count; i++) {
        if (ours_consts[i].value != theirs[i]) {
            fail_msg("%s: ours 0x%llx, tss2 0x%llx", ours_consts[i].name,
                     (unsigned long long)ours_consts[i].value, (unsigned long long)theirs[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_constant_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
