import { checkCanary, deriveKeys, fingerprint, makeCanary, maskKey, newSalt, seal, unseal } from '../../nodes/core/secrets';
import { WrongSecretError } from '../../nodes/core/errors';

describe('seal (AES-256-GCM sealing, HMAC fingerprints)', () => {
	const salt = newSalt();
	const km = deriveKeys('correct horse battery staple', salt);

	it('round-trips keys, including Chinese text and long links', () => {
		for (const k of ['ABCD-EFGH-IJKL-MNOP', '卡密-一二三-四五六', 'https://dl.example.com/' + 'x'.repeat(3000)]) {
			const s = seal(km, k);
			expect(s.startsWith('v1.')).toBe(true);
			expect(s).not.toContain(k);
			expect(unseal(km, s)).toBe(k);
		}
	});

	it('uses a fresh nonce every time (same key, different ciphertext)', () => {
		expect(seal(km, 'SAME-KEY')).not.toBe(seal(km, 'SAME-KEY'));
	});

	it('rejects tampered ciphertext, tag and nonce', () => {
		const s = seal(km, 'TAMPER-ME-0001');
		const raw = Buffer.from(s.slice(3), 'base64');
		for (const pos of [0, 13, raw.length - 1]) {
			const bad = Buffer.from(raw);
			bad[pos] ^= 0x01;
			expect(() => unseal(km, 'v1.' + bad.toString('base64'))).toThrow(WrongSecretError);
		}
		expect(() => unseal(km, 'v1.' + raw.subarray(0, 20).toString('base64'))).toThrow(/truncated/);
		expect(() => unseal(km, 'plain-text-key')).toThrow(/not in a recognised sealed format/);
	});

	it('rejects a wrong secret and a wrong salt', () => {
		const s = seal(km, 'WRONG-SECRET-TEST');
		expect(() => unseal(deriveKeys('another secret', salt), s)).toThrow(WrongSecretError);
		expect(() => unseal(deriveKeys('correct horse battery staple', newSalt()), s)).toThrow(WrongSecretError);
		const canary = makeCanary(km);
		expect(() => checkCanary(km, canary)).not.toThrow();
		expect(() => checkCanary(deriveKeys('another secret', salt), canary)).toThrow(/does not match this key store/);
	});

	it('the error for a wrong secret never contains the key', () => {
		const s = seal(km, 'SECRET-IN-ERROR-CHECK');
		try {
			unseal(deriveKeys('nope', salt), s);
			throw new Error('should have failed');
		} catch (e) {
			expect(String((e as Error).message)).not.toContain('SECRET-IN-ERROR-CHECK');
		}
	});

	it('fingerprints are deterministic per store, normalised, and keyed', () => {
		expect(fingerprint(km, '  KEY-1 ')).toBe(fingerprint(km, 'KEY-1'));
		expect(fingerprint(km, 'e\u0301')).toBe(fingerprint(km, '\u00e9')); // NFC
		expect(fingerprint(km, 'key-1')).not.toBe(fingerprint(km, 'KEY-1')); // case matters
		expect(fingerprint(deriveKeys('other', salt), 'KEY-1')).not.toBe(fingerprint(km, 'KEY-1'));
		expect(fingerprint(km, 'KEY-1')).toMatch(/^[A-Za-z0-9_-]{22}$/);
	});

	it('an empty secret is refused', () => {
		expect(() => deriveKeys('', salt)).toThrow(/Encryption Secret is empty/);
	});

	it('masks keys like ABCD…WXYZ and never shows more than a third', () => {
		expect(maskKey('ABCD-EFGH-IJKL-WXYZ')).toBe('ABCD…WXYZ');
		expect(maskKey('ABCDEFGHIJ')).toBe('AB…IJ');
		expect(maskKey('ABCDEF')).toBe('A…F');
		expect(maskKey('ABC')).not.toContain('A');
		for (const k of ['ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'ABCDEFGHIJKL', 'ABCDEFG', '卡密一二三四五六七八九十']) {
			const visible = maskKey(k).replace(/[…*]/g, '').length;
			expect(visible).toBeLessThanOrEqual(Math.ceil(k.length / 3));
		}
	});
});
