import { ensureRuntime } from '../e2e/runtime';
ensureRuntime({}).then((r) => { console.log('ok', JSON.stringify(r).slice(0, 300)); }, (e) => { console.error(e); process.exit(1); });
