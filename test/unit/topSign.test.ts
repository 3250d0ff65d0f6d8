/**
 * TOP request signing (nodes/core/taobao/sign.ts). The first vector is the one of the issue,
 * computed from TOP's published rule; the others were computed independently with Python's
 * hashlib / hmac from the same rule (see the comment of each).
 */
import { parseTopTime, topSign, topSignText, topTimestamp } from '../../nodes/core/taobao/sign';

const PARAMS = { app_key: '12345678', format: 'json', method: 'taobao.logistics.dummy.send', session: 's', sign_method: 'md5', tid: '123', timestamp: '2016-01-01 12:00:00', v: '2.0' };

describe('TOP signing', () => {
	it('md5: MD5(secret + sorted name+value + secret), uppercase — the issue\'s vector', () => {
		expect(topSign(PARAMS, 'helloworld', 'md5')).toBe('549CC735F75A24EEC11AA59923BD0785');
	});

	it('hmac (HMAC-MD5) and hmac-sha256 keyed with the secret — vectors from Python\'s hmac module', () => {
		// python3: hmac.new(b'helloworld', text.encode(), hashlib.md5).hexdigest().upper(), with sign_method=hmac in the text
		expect(topSign({ ...PARAMS, sign_method: 'hmac' }, 'helloworld', 'hmac')).toBe('F88F3ECC911730B957CEEA2328CA1D69');
		// the same with sign_method=hmac-sha256 in the parameters (it is signed too), hashlib.sha256
		expect(topSign({ ...PARAMS, sign_method: 'hmac-sha256' }, 'helloworld', 'hmac-sha256')).toBe('F01EBC0CB6C716A50697B1CA6FA57BDD81FAD1F0AFC7B16623EA34EBA1EFFB15');
	});

	it('leaves out sign and empty values, sorts by code unit, keeps values verbatim (UTF-8)', () => {
		expect(topSignText({ b: '2', a: '1', sign: 'X', c: '', d: null, e: undefined, A: 'up' })).toBe('Aupa1b2');
		expect(topSignText({ ...PARAMS, sign: 'ANYTHING' })).toBe(topSignText(PARAMS));
		const withSign = topSign({ ...PARAMS, sign: 'ANYTHING' }, 'helloworld', 'md5');
		expect(withSign).toBe('549CC735F75A24EEC11AA59923BD0785');
		// a Chinese value is signed as UTF-8: python3 hashlib.md5(('s'+'buyer_nick小明'+'s').encode()).hexdigest().upper()
		expect(topSign({ buyer_nick: '小明' }, 's', 'md5')).toBe('649B3A08C266CE07E1E051731413566A');
	});

	it('timestamps are GMT+8', () => {
		expect(topTimestamp(new Date(Date.UTC(2016, 0, 1, 4, 0, 0)))).toBe('2016-01-01 12:00:00');
		expect(topTimestamp(new Date(Date.UTC(2026, 11, 31, 23, 59, 59)))).toBe('2027-01-01 07:59:59');
		expect(parseTopTime('2016-01-01 12:00:00')).toBe(Date.UTC(2016, 0, 1, 4, 0, 0));
		expect(parseTopTime('2016-01-01T12:00:00')).toBeNaN();
	});
});
