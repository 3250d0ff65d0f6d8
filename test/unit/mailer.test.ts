/**
 * How SMTP failures are worded for a seller (describeMailError), on error objects shaped like
 * nodemailer's. The real failures (550, 451, dropped connection, refused login, TLS mismatch,
 * unreachable port) are produced by a real SMTP server in test/integration/notifyBuyer.test.ts.
 */
import { MailError, describeMailError } from '../../nodes/core/outbound';

const where = { host: 'smtp.example.com', port: 465 };
const err = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'x')), fields);

describe('describeMailError', () => {
	const cases: Array<[string, Record<string, unknown>, string, boolean, RegExp]> = [
		['refused login', { code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Authentication failed' }, 'auth', false, /refused the login \(535 5\.7\.8 Authentication failed\)\. Check user and password\./],
		['connection refused', { code: 'ESOCKET', message: 'connect ECONNREFUSED 10.0.0.1:465' }, 'connection', true, /the connection was refused \(ECONNREFUSED\), nothing listens there/],
		['unknown host', { code: 'EDNS', message: 'getaddrinfo ENOTFOUND smtp.example.com' }, 'connection', false, /host name was not found \(DNS\)/],
		['timeout', { code: 'ETIMEDOUT', message: 'Greeting never received' }, 'connection', true, /no answer in time \(Greeting never received\)/],
		['TLS on a plain port', { code: 'ESOCKET', message: '0A00010B:SSL routines:ssl3_get_record:wrong version number' }, 'tls', false, /does not speak TLS on this port\)\. Check Security/],
		['no STARTTLS', { code: 'ETLS', command: 'STARTTLS', responseCode: 500, response: '500 command not recognized' }, 'tls', false, /does not accept STARTTLS/],
		['dropped', { code: 'ECONNECTION', message: 'Connection closed unexpectedly' }, 'connection', true, /Cannot talk to the SMTP server smtp\.example\.com:465 \(ECONNECTION: Connection closed unexpectedly\)/],
		['recipient', { code: 'EENVELOPE', responseCode: 550, response: '550 No such user' }, 'recipient', false, /rejected the recipient: 550 No such user/],
		['deferred', { code: 'EMESSAGE', responseCode: 451, response: '451 Try again later' }, 'tempfail', true, /deferred the message \(451 Try again later\)\. Try again later\./],
		['rejected', { code: 'EMESSAGE', responseCode: 554, response: '554 Spam' }, 'rejected', false, /rejected the message \(554 Spam\)/],
	];
	it.each(cases)('%s', (_name, fields, code, transient, message) => {
		const e = describeMailError(where, err(fields));
		expect(e).toBeInstanceOf(MailError);
		expect({ code: e.code, transient: e.transient }).toEqual({ code, transient });
		expect(e.message).toMatch(message);
	});

	it('passes a MailError through unchanged', () => {
		const m = new MailError('x', 'config', false);
		expect(describeMailError(where, m)).toBe(m);
	});
});
