/**
 * Captures everything written to stdout/stderr and the console while a test file runs, to prove
 * that no key reaches a log. Call at the top level of a test file: registers beforeAll/afterAll.
 * Output still reaches the real streams (console calls are swallowed, as before).
 */
export function captureOutput(): string[] {
	const captured: string[] = [];
	const restore: Array<() => void> = [];
	beforeAll(() => {
		for (const stream of [process.stdout, process.stderr]) {
			const orig = stream.write.bind(stream);
			stream.write = ((chunk: unknown, ...rest: unknown[]) => {
				captured.push(String(chunk));
				return (orig as (...a: unknown[]) => boolean)(chunk, ...rest);
			}) as typeof stream.write;
			restore.push(() => (stream.write = orig));
		}
		for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
			const spy = jest.spyOn(console, level).mockImplementation((...args: unknown[]) => void captured.push(args.map(String).join(' ')));
			restore.push(() => spy.mockRestore());
		}
	});
	afterAll(() => {
		restore.splice(0).forEach((r) => r());
	});
	return captured;
}
