/** Secrets: sealing (AES-256-GCM), fingerprints, masking and redaction of key text. */
export * from './redact';
export * from './seal';
