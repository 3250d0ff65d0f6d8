import { createHmac } from 'crypto';
import { signPayload, verifySignature } from '../../nodes/core/intake';

const SHOP_PASS = 'shop-pass-1';
const OTHER_PASS = 'shop-pass-2';
const BODY = '{"event":"order.paid","orderId":"T1","items":[{"sku":"A","quantity":1}]}';
const NOW_S = 1_800_000_000;
const NOW_MS = NOW_S * 1000;

function verify(over: Partial<Parameters<typeof verifySignature>[0]> = {}) {
	const ts = String(NOW_S);
	return verifySignature({
		secret: SHOP_PASS,
		rawBody: BODY,
		timestampHeader: ts,
		signatureHeader: signPayload(SHOP_PASS, ts, BODY),
		now: NOW_MS,
		...over,
	});
}

function failure(r: ReturnType<typeof verifySignature>) {
	if (r.ok) throw new Error('expected a failure, got ok');
	return r;
}

describe('signPayload', () => {
	it('is sha256=<hex> of HMAC-SHA256(secret, "<ts>.<body>")', () => {
		const hex = createHmac('sha256', SHOP_PASS).update(`${NOW_S}.${BODY}`).digest('hex');
		expect(signPayload(SHOP_PASS, NOW_S, BODY)).toBe(`sha256=${hex}`);
		expect(signPayload(SHOP_PASS, String(NOW_S), Buffer.from(BODY))).toBe(`sha256=${hex}`);
	});

	it('refuses an empty secret', () => {
		expect(() => signPayload('', NOW_S, BODY)).toThrow(/secret/);
	});
});

describe('verifySignature', () => {
	it('accepts a valid signature (string and Buffer body, upper-case hex, surrounding spaces)', () => {
		expect(verify()).toEqual({ ok: true });
		expect(verify({ rawBody: Buffer.from(BODY, 'utf8') })).toEqual({ ok: true });
		const sig = signPayload(SHOP_PASS, NOW_S, BODY);
		expect(verify({ signatureHeader: `  sha256=${sig.slice(7).toUpperCase()} ` })).toEqual({ ok: true });
	});

	it('accepts timestamps within the tolerance, past and future', () => {
		for (const ts of [NOW_S - 300, NOW_S + 300]) {
			const t = String(ts);
			expect(verify({ timestampHeader: t, signatureHeader: signPayload(SHOP_PASS, t, BODY) })).toEqual({
				ok: true,
			});
		}
	});

	it('rejects a missing signature header', () => {
		for (const signatureHeader of [undefined, '', '   ']) {
			const r = failure(verify({ signatureHeader }));
			expect(r.reason).toBe('missing_signature');
			expect(r.message).toMatch(/X-Signature/);
		}
	});

	it('rejects a missing timestamp header', () => {
		for (const timestampHeader of [undefined, '']) {
			const r = failure(verify({ timestampHeader }));
			expect(r.reason).toBe('missing_timestamp');
			expect(r.message).toMatch(/X-Timestamp/);
		}
	});

	it('rejects a timestamp that is not unix seconds', () => {
		for (const timestampHeader of ['abc', '1.5', '-100', '2026-11-23T10:00:00Z', '0x10']) {
			expect(failure(verify({ timestampHeader })).reason).toBe('bad_timestamp');
		}
		const ms = failure(verify({ timestampHeader: String(NOW_MS) }));
		expect(ms.reason).toBe('bad_timestamp');
		expect(ms.message).toMatch(/milliseconds/);
	});

	it('rejects an expired timestamp (replay), even with a correct signature for it', () => {
		const t = String(NOW_S - 301);
		const r = failure(verify({ timestampHeader: t, signatureHeader: signPayload(SHOP_PASS, t, BODY) }));
		expect(r.reason).toBe('expired');
		expect(r.message).toMatch(/301 seconds old/);
	});

	it('rejects a timestamp too far in the future', () => {
		const t = String(NOW_S + 301);
		const r = failure(verify({ timestampHeader: t, signatureHeader: signPayload(SHOP_PASS, t, BODY) }));
		expect(r.reason).toBe('expired');
		expect(r.message).toMatch(/in the future/);
	});

	it('honours a custom tolerance', () => {
		const t = String(NOW_S - 60);
		const sig = signPayload(SHOP_PASS, t, BODY);
		expect(verify({ timestampHeader: t, signatureHeader: sig, toleranceSeconds: 30 }).ok).toBe(false);
		expect(verify({ timestampHeader: t, signatureHeader: sig, toleranceSeconds: 60 }).ok).toBe(true);
	});

	it('rejects a signature not in the form sha256=<hex>', () => {
		const hex = signPayload(SHOP_PASS, NOW_S, BODY).slice(7);
		for (const signatureHeader of [hex, `sha1=${hex}`, 'sha256=', `sha256=${hex}zz`, `sha256:${hex}`]) {
			expect(failure(verify({ signatureHeader })).reason).toBe('bad_format');
		}
	});

	it('rejects a tampered body', () => {
		const r = failure(verify({ rawBody: BODY.replace('"quantity":1', '"quantity":9') }));
		expect(r.reason).toBe('mismatch');
	});

	it('rejects a signature made with another secret', () => {
		const r = failure(verify({ signatureHeader: signPayload(OTHER_PASS, NOW_S, BODY) }));
		expect(r.reason).toBe('mismatch');
		expect(failure(verify({ secret: OTHER_PASS })).reason).toBe('mismatch');
	});

	it('rejects a signature bound to another timestamp', () => {
		const r = failure(verify({ signatureHeader: signPayload(SHOP_PASS, NOW_S - 1, BODY) }));
		expect(r.reason).toBe('mismatch');
	});

	it('treats a signature of the wrong length as a mismatch without throwing', () => {
		const hex = signPayload(SHOP_PASS, NOW_S, BODY).slice(7);
		for (const signatureHeader of ['sha256=ab', `sha256=${hex.slice(0, -1)}`, `sha256=${hex}00`]) {
			let r: ReturnType<typeof verifySignature> | undefined;
			expect(() => {
				r = verify({ signatureHeader });
			}).not.toThrow();
			expect(failure(r!).reason).toBe('mismatch');
		}
	});

	it('never puts the secret or the expected signature in a message', () => {
		const expected = signPayload(SHOP_PASS, NOW_S, BODY).slice(7);
		const cases = [
			verify({ signatureHeader: 'sha256=00' }),
			verify({ rawBody: 'tampered' }),
			verify({ signatureHeader: 'nope' }),
			verify({ timestampHeader: String(NOW_S - 1000) }),
		];
		for (const r of cases) {
			const f = failure(r);
			expect(f.message).not.toContain(SHOP_PASS);
			expect(f.message).not.toContain(expected);
			expect(f.message.toLowerCase()).not.toContain(expected.slice(0, 16));
		}
	});

	it('throws a clear error when no secret is configured', () => {
		expect(() => verify({ secret: '' })).toThrow(/signing secret/);
	});
});
