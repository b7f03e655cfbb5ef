-- Schema version 9: erasure reaches the frozen documents.  A day close's report and a
-- claim revision's document keep the diner's masked ID beside their pseudonym; erasing the
-- diner replaces it there too.  The digest recorded when the document was frozen stays
-- (it is what the accountant signed); each redaction records the digest of the text it
-- left, so `canteen verify` can tell a redacted document from an edited one.
CREATE TABLE document_redactions (
    id           TEXT      NOT NULL PRIMARY KEY,
    document     TEXT      NOT NULL CHECK (document IN ('day_close', 'claim_revision')),
    document_key TEXT      NOT NULL,
    diner_id     TEXT      NOT NULL REFERENCES diners (id),
    redacted_at  TIMESTAMP NOT NULL,
    fields       INTEGER   NOT NULL CHECK (fields >= 1),
    sha256_after TEXT      NOT NULL
);
CREATE INDEX document_redactions_by_document ON document_redactions (document, document_key, redacted_at);
