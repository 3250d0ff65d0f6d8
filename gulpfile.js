const { src, dest } = require('gulp');

/**
 * Copies what tsc does not emit into dist/, keeping relative paths, so that
 * n8n finds them next to the compiled files:
 * node and credential icons (svg/png) and node codex files (*.node.json).
 *
 * gulp 5 reads files as utf8 by default, which corrupts binary PNGs, so the
 * files are copied as raw buffers (encoding: false).
 */
function copyIcons() {
	return src(
		['nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}', 'nodes/**/*.node.json'],
		{ base: '.', encoding: false },
	).pipe(dest('dist'));
}

exports['build:icons'] = copyIcons;
