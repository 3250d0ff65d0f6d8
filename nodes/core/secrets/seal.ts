/**
 * Sealing (AES-256-GCM) and fingerprints (HMAC-SHA256) — DESIGN §5.
 *
 * Two 256-bit keys are derived with HKDF-SHA256 from the seller's Encryption Secret and the
 * store's random salt: one seals keys, the other fingerprints them (import dedup and lookup
 * without decrypting). A sealed value is `v1.` + base64(nonce[12] | tag[16] | ciphertext).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'crypto';

import { WrongSecretError, StoreError } from '../errors';

const SEAL_VERSION = 'v1.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const AAD = Buffer.from('n8n-nodes-auto-delivery/seal/v1');
const CANARY_PLAINTEXT = 'auto-delivery canary: the encryption secret is correct';

export interface KeyMaterial {
	sealKey: Buffer;
	fingerprintKey: Buffer;
	/** Signs delivery-page links (nodes/core/delivery/link.ts). */
	linkKey: Buffer;
}

export function newSalt(): string {
	return randomBytes(16).toString('base64');
}

export function deriveKeys(secret: string, saltB64: string): KeyMaterial {
	if (typeof secret !== 'string' || secret.length === 0) {
		throw new StoreError('The Encryption Secret is empty. Set one in the key store credential.');
	}
	const ikm = Buffer.from(secret, 'utf8');
	const salt = Buffer.from(saltB64, 'base64');
	return {
		sealKey: Buffer.from(hkdfSync('sha256', ikm, salt, 'auto-delivery/seal/v1', 32)),
		fingerprintKey: Buffer.from(hkdfSync('sha256', ikm, salt, 'auto-delivery/fingerprint/v1', 32)),
		linkKey: Buffer.from(hkdfSync('sha256', ikm, salt, 'auto-delivery/delivery-link/v1', 32)),
	};
}

// Nonces come from the CSPRNG in blocks (one randomBytes call per 1024 seals instead of one each).
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;
function nextNonce(): Buffer {
	if (nonceOffset + NONCE_BYTES > noncePool.length) {
		noncePool = randomBytes(NONCE_BYTES * 1024);
		nonceOffset = 0;
	}
	const n = noncePool.subarray(nonceOffset, nonceOffset + NONCE_BYTES);
	nonceOffset += NONCE_BYTES;
	return n;
}

export function seal(km: KeyMaterial, plaintext: string): string {
	const nonce = nextNonce();
	const cipher = createCipheriv('aes-256-gcm', km.sealKey, nonce);
	cipher.setAAD(AAD);
	const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
	const tag = cipher.getAuthTag();
	return SEAL_VERSION + Buffer.concat([nonce, tag, ct]).toString('base64');
}

/** Opens a sealed value; throws WrongSecretError when the tag does not verify. */
export function unseal(km: KeyMaterial, sealed: string): string {
	if (typeof sealed !== 'string' || !sealed.startsWith(SEAL_VERSION)) {
		throw new StoreError('A stored key is not in a recognised sealed format; the store may be corrupted.');
	}
	const raw = Buffer.from(sealed.slice(SEAL_VERSION.length), 'base64');
	if (raw.length < NONCE_BYTES + TAG_BYTES) {
		throw new StoreError('A stored key is truncated; the store may be corrupted.');
	}
	const nonce = raw.subarray(0, NONCE_BYTES);
	const tag = raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES);
	const ct = raw.subarray(NONCE_BYTES + TAG_BYTES);
	try {
		const decipher = createDecipheriv('aes-256-gcm', km.sealKey, nonce);
		decipher.setAAD(AAD);
		decipher.setAuthTag(tag);
		return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
	} catch {
		throw new WrongSecretError(
			'A stored key could not be decrypted: the Encryption Secret is wrong or the data was tampered with. Nothing was delivered.',
		);
	}
}

/** Normalises a key for fingerprinting: Unicode NFC and trimmed. Case is significant. */
export function normaliseKey(key: string): string {
	return key.normalize('NFC').trim();
}

/**
 * HMAC-SHA256 of the normalised key, truncated to 128 bits (base64url, 22 characters): collisions
 * are out of reach at any pool size, and the unique index stays small.
 */
export function fingerprint(km: KeyMaterial, key: string): string {
	return createHmac('sha256', km.fingerprintKey).update(normaliseKey(key), 'utf8').digest().subarray(0, 16).toString('base64url');
}

export function makeCanary(km: KeyMaterial): string {
	return seal(km, CANARY_PLAINTEXT);
}

export function checkCanary(km: KeyMaterial, sealedCanary: string): void {
	let opened: string;
	try {
		opened = unseal(km, sealedCanary);
	} catch {
		throw new WrongSecretError(
			'The Encryption Secret does not match this key store. Use the secret the store was created with; keys cannot be read with another one.',
		);
	}
	if (opened !== CANARY_PLAINTEXT) {
		throw new WrongSecretError('The key store canary does not match; the Encryption Secret is wrong.');
	}
}
