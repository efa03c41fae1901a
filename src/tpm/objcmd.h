/*
 * What the object commands share (objcmd.c, primary.c): the output of CreatePrimary, Create
 * and CreateLoaded, and the creation data, hash and ticket (Part 3 §12.1, Part 2 §15.1).
 */
#ifndef VTPM_TPM_OBJCMD_H
#define VTPM_TPM_OBJCMD_H

#include "auth.h"
#include "cmd.h"
#include "entity.h"

struct out_create {
    TPM2B_PRIVATE outPrivate; /* Create, CreateLoaded */
    TPMT_PUBLIC outPublic;
    TPMS_CREATION_DATA creationData;
    TPM2B_DIGEST creationHash;
    TPMT_TK creationTicket;
    TPM2B_NAME name; /* CreatePrimary, CreateLoaded */
};

/*
 * Creation data of new object o: PCR digest of pcrs with o's nameAlg, locality, the parent's
 * nameAlg, name and qualified name, outsideInfo; creationHash = H_nameAlg(creationData) and
 * the TPMT_TK_CREATION ticket HMAC(proof(hierarchy), TPM_ST_CREATION || name || hash).
 */
TPM_RC objcmd_creation(struct tpm *t, const struct cmd *c, TPM_HANDLE hierarchy,
                       TPM_ALG_ID parent_alg, const TPM2B_NAME *parent_name,
                       const TPM2B_NAME *parent_qn, const TPM2B_DATA *outside,
                       const TPML_PCR_SELECTION *pcrs, const struct object *o,
                       struct out_create *out) MUST_CHECK;

/* CreatePrimary's response: outPublic, creationData, creationHash, creationTicket, name. */
void objcmd_emit_primary(struct wr *w, const struct out_create *out);

#endif
