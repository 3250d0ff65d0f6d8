/**
 * 闲管家 and 有赞 signatures (nodes/core/goofish/sign.ts, nodes/core/youzan/sign.ts). Vectors: the
 * merchant example published by 闲管家 (in the issue), and values computed independently with
 * Python's hashlib from the documented rules (the expression is beside each).
 */
import { goofishQuery, goofishSign, verifyGoofish } from '../../nodes/core/goofish/sign';
import { verifyYouzan, youzanSign } from '../../nodes/core/youzan/sign';

const BODY = '{"goods_type":1,"goods_no":"12344532"}';
const APP = { appKey: '677859093659717', appSecret: 'wK63PxlOBaY9NoqMksLeZySzGIW25ifA' };
const MCH = { ...APP, mchId: '1001', mchSecret: 'o9wl81dncmvby3ijpq7eur456zhgtaxs' };

describe('闲管家 signatures', () => {
	it('merchant variant: the published example', () => {
		expect(goofishSign(MCH, BODY, 1724414553)).toBe('fda5954f48ab32b3b271c84450440ead');
		expect(goofishSign(MCH, Buffer.from(BODY), '1724414553')).toBe('fda5954f48ab32b3b271c84450440ead');
	});

	it('app variant: md5("appKey,md5(body),timestamp,appSecret")', () => {
		// python3: md5(('677859093659717,' + md5(BODY) + ',1724414553,wK63PxlOBaY9NoqMksLeZySzGIW25ifA').encode())
		expect(goofishSign(APP, BODY, 1724414553)).toBe('2b47cb9a89d827a3823d8949cd42aea4');
	});

	it('builds the query and verifies pushes: 5-minute window, constant-time, the body byte for byte', () => {
		const now = 1724414553_000;
		const q = goofishQuery(MCH, BODY, now);
		expect(q).toEqual({ appid: APP.appKey, timestamp: '1724414553', mch_id: '1001', sign: 'fda5954f48ab32b3b271c84450440ead' });
		expect(verifyGoofish(MCH, q, BODY, now)).toEqual({ ok: true });
		expect(verifyGoofish(MCH, q, BODY, now + 300_000)).toEqual({ ok: true });
		expect(verifyGoofish(MCH, q, BODY, now + 301_000)).toEqual({ ok: false, reason: 'expired' });
		expect(verifyGoofish(MCH, q, BODY, now - 301_000)).toEqual({ ok: false, reason: 'future' });
		expect(verifyGoofish(MCH, q, `${BODY} `, now)).toEqual({ ok: false, reason: 'bad_signature' });
		expect(verifyGoofish(MCH, { ...q, sign: q.sign.toUpperCase() }, BODY, now)).toEqual({ ok: true });
		expect(verifyGoofish(MCH, { ...q, appid: '1' }, BODY, now)).toEqual({ ok: false, reason: 'wrong_app' });
		expect(verifyGoofish(MCH, { ...q, sign: undefined }, BODY, now)).toEqual({ ok: false, reason: 'missing' });
		expect(verifyGoofish({ ...MCH, appSecret: 'x' }, q, BODY, now)).toEqual({ ok: false, reason: 'bad_signature' });
	});
});

describe('有赞 push signatures', () => {
	const msg = '%7B%22tid%22%3A%22E2026%22%7D';
	it('MD5(client_id + msg as received + client_secret)', () => {
		// python3: hashlib.md5(('cid' + msg + 'csecret').encode()).hexdigest()
		expect(youzanSign('cid', msg, 'csecret')).toBe('5fa0816ee3b207d304d57faecad1e974');
	});
	it('verifies from Event-Sign or the body; the decoded msg does not verify', () => {
		const sign = youzanSign('cid', msg, 'csecret');
		expect(verifyYouzan('cid', 'csecret', { msg, sign })).toEqual({ ok: true });
		expect(verifyYouzan('cid', 'csecret', { msg }, sign)).toEqual({ ok: true });
		expect(verifyYouzan('cid', 'csecret', { msg, sign: 'f'.repeat(32) }, sign)).toEqual({ ok: true }); // the header wins
		expect(verifyYouzan('cid', 'csecret', { msg: decodeURIComponent(msg), sign })).toEqual({ ok: false, reason: 'bad_signature' });
		expect(verifyYouzan('cid', 'other', { msg, sign })).toEqual({ ok: false, reason: 'bad_signature' });
		expect(verifyYouzan('cid', 'csecret', { msg })).toEqual({ ok: false, reason: 'missing' });
		expect(verifyYouzan('cid', 'csecret', { sign })).toEqual({ ok: false, reason: 'missing' });
	});
});
