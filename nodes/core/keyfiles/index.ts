/** Key files: TXT/CSV parsing (any encoding) and CSV export. */
export * from './parse';
export * from './csv';
