/**
 * `npm run screenshots`: the README's pictures, taken with Debian's headless Chromium (driven by
 * playwright-core) against a real n8n:
 *
 *   workflows/screenshots/order-paid.png    the order-paid workflow in the n8n editor (logged in as
 *                                            the demo owner, the whole canvas zoomed to fit)
 *   workflows/screenshots/import-form.png   the import-keys form as a seller sees it (after basic auth)
 *
 * Uses the n8n of a running `npm start`; without one it starts the same demo (same .data/) itself
 * and stops it afterwards. Chromium: /usr/bin/chromium (`apt-get install chromium`; AD_CHROMIUM
 * overrides the path).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';

import { c, DemoError, loadSecrets, paths, pidAlive, readState, rel, requireRunning, sleep, type DemoState } from './common';
import { launch, type Launched } from './start';

const CHROMIUM = process.env.AD_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

const log = (s: string) => process.stdout.write(`${s}\n`);

async function workflowShot(browser: Browser, state: DemoState, file: string, out: string): Promise<void> {
	const wf = state.workflows.find((w) => w.file === file);
	if (!wf) throw new DemoError(`workflows/${file} is not imported in this n8n (is the file there? restart npm start).`);
	const secrets = loadSecrets(false);
	const context = await browser.newContext({ viewport: { width: 1920, height: 1000 }, deviceScaleFactor: 1.5, locale: 'en-US', timezoneId: 'UTC' });
	try {
		// Log in through n8n's REST API (the cookie lands in this browser context).
		const login = await context.request.post(`${state.baseUrl}/rest/login`, {
			data: { emailOrLdapLoginId: secrets.owner.email, password: secrets.owner.password },
		});
		if (!login.ok()) throw new DemoError(`Logging in to n8n as ${secrets.owner.email} failed (${login.status()}). Was the owner's password changed? Put it in ${rel(paths.secrets)}.`);
		const page = await context.newPage();
		await page.goto(`${state.baseUrl}/workflow/${wf.id}`, { waitUntil: 'domcontentloaded' });
		await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
		await settle(page, false); // the editor keeps a push connection open: never "network idle"
		await dismissOverlays(page);
		await zoomToFit(page);
		await settle(page, false);
		await page.mouse.move(5, 995); // no hover effects on nodes
		await sleep(500);
		await page.screenshot({ path: out });
	} finally {
		await context.close();
	}
}

/** Waits until the page stops changing (fonts, icons, canvas layout). */
async function settle(page: Page, networkIdle = true): Promise<void> {
	if (networkIdle) await page.waitForLoadState('networkidle', { timeout: 15_000 }).catch(() => undefined);
	await page.evaluate('document.fonts ? document.fonts.ready.then(() => true) : true');
	await sleep(800);
}

async function dismissOverlays(page: Page): Promise<void> {
	for (let i = 0; i < 3; i++) {
		const close = page.locator('.el-dialog__headerbtn, [data-test-id="close-button"], .el-message-box__headerbtn').first();
		if (await close.isVisible().catch(() => false)) {
			await close.click().catch(() => undefined);
			await sleep(300);
		} else break;
	}
	await page.keyboard.press('Escape').catch(() => undefined);
}

async function zoomToFit(page: Page): Promise<void> {
	const button = page.locator('[data-test-id="zoom-to-fit"]').first();
	if (await button.isVisible().catch(() => false)) await button.click();
	else {
		await page.locator('[data-test-id="canvas-wrapper"], .vue-flow').first().click({ position: { x: 5, y: 5 } }).catch(() => undefined);
		await page.keyboard.press('1');
	}
}

async function formShot(browser: Browser, state: DemoState, file: string, out: string): Promise<void> {
	const wf = state.workflows.find((w) => w.file === file);
	const form = wf?.forms[0];
	if (!wf || !form) throw new DemoError(`workflows/${file} has no form trigger in this n8n.`);
	if (!wf.published) throw new DemoError(`"${wf.name}" is not published, so its form is not served.`);
	const secrets = loadSecrets(false);
	const context = await browser.newContext({
		viewport: { width: 1000, height: 640 }, // fullPage: the height grows to the form's
		deviceScaleFactor: 1,
		locale: 'en-US',
		httpCredentials: { username: secrets.form.user, password: secrets.form.password },
	});
	try {
		const page = await context.newPage();
		const res = await page.goto(form.url, { waitUntil: 'networkidle' });
		if (!res || res.status() !== 200) throw new DemoError(`The form ${form.url} answered ${res?.status() ?? 'nothing'}.`);
		await page.waitForSelector('form, .form-wrapper, .card', { timeout: 30_000 });
		await settle(page);
		await page.screenshot({ path: out, fullPage: true });
	} finally {
		await context.close();
	}
}

async function main(): Promise<void> {
	if (!fs.existsSync(CHROMIUM)) {
		throw new DemoError(`No Chromium at ${CHROMIUM}. Install Debian's: apt-get install -y chromium (or set AD_CHROMIUM to another Chromium).`);
	}
	let own: Launched | undefined;
	let state: DemoState;
	const running = readState();
	if (running && pidAlive(running.pid) && running.status === 'ready') {
		state = await requireRunning();
		log(`Using the n8n of the running npm start (${state.baseUrl}).`);
	} else {
		log('npm start is not running: starting the demo for the screenshots (stopped afterwards)…');
		own = await launch({ out: (l) => log(c.dim(l)) });
		state = own.state;
	}
	const stopOwn = async () => {
		if (own) {
			log('Stopping the demo n8n…');
			await own.stop();
		}
	};
	const onSignal = () => void stopOwn().finally(() => process.exit(1));
	process.once('SIGINT', onSignal);
	process.once('SIGTERM', onSignal);

	let browser: Browser | undefined;
	try {
		fs.mkdirSync(paths.screenshotsDir, { recursive: true });
		browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
		const shots = [
			{ out: path.join(paths.screenshotsDir, 'order-paid.png'), take: (b: Browser, o: string) => workflowShot(b, state, 'order-paid.json', o) },
			{ out: path.join(paths.screenshotsDir, 'import-form.png'), take: (b: Browser, o: string) => formShot(b, state, 'import-keys.json', o) },
		];
		for (const s of shots) {
			const t0 = Date.now();
			await s.take(browser, s.out);
			log(`${c.green('✓')} ${rel(s.out)} (${Math.round(fs.statSync(s.out).size / 1024)} kB, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
		}
	} finally {
		await browser?.close().catch(() => undefined);
		await stopOwn();
	}
}

main().then(
	() => process.exit(0),
	(err) => {
		const msg = err instanceof DemoError ? err.message : (err as Error).stack ?? String(err);
		process.stderr.write(`${c.red('npm run screenshots:')} ${msg}\n`);
		process.exit(1);
	},
);
