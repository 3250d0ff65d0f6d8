import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { type KeyFileFormat, type TextEncoding, readKeys } from '../../../core/keyfiles';
import type { Emit, StoreSetup } from '../../../shared/runner';
import { eraseStoredFile } from '../../helpers/eraseStoredFile';

/** Shown with the SKU (common.descriptions.ts) above them. */
export const description: INodeProperties[] = [
	{
		displayName: 'Input',
		name: 'source',
		type: 'options',
		options: [
			{ name: 'Text', value: 'text', description: 'Keys typed or mapped into a field' },
			{ name: 'File (Binary)', value: 'binary', description: 'A TXT or CSV file, e.g. from a form upload' },
		],
		default: 'text',
		displayOptions: { show: { operation: ['import'] } },
	},
	{
		displayName: 'Keys',
		name: 'keysText',
		type: 'string',
		typeOptions: { rows: 8, password: true },
		default: '',
		description: 'One key per line (or CSV rows when the format is CSV)',
		displayOptions: { show: { operation: ['import'], source: ['text'] } },
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		description: 'Name of the binary property holding the file',
		displayOptions: { show: { operation: ['import'], source: ['binary'] } },
	},
	{
		displayName: 'Format',
		name: 'format',
		type: 'options',
		options: [
			{ name: 'TXT (One Key per Line)', value: 'txt' },
			{ name: 'CSV', value: 'csv' },
		],
		default: 'txt',
		displayOptions: { show: { operation: ['import'] } },
	},
	{
		displayName: 'Key Column',
		name: 'column',
		type: 'string',
		default: '1',
		description: 'Column number (1 = first) or, with a header row, the column name',
		displayOptions: { show: { operation: ['import'], format: ['csv'] } },
	},
	{
		displayName: 'Header Row',
		name: 'hasHeader',
		type: 'boolean',
		default: false,
		description: 'Whether the first row holds column names',
		displayOptions: { show: { operation: ['import'], format: ['csv'] } },
	},
	{
		displayName: 'Delimiter',
		name: 'delimiter',
		type: 'options',
		options: [
			{ name: 'Comma (,)', value: ',' },
			{ name: 'Semicolon (;)', value: ';' },
			{ name: 'Tab', value: '\t' },
			{ name: 'Pipe (|)', value: '|' },
		],
		default: ',',
		displayOptions: { show: { operation: ['import'], format: ['csv'] } },
	},
	{
		displayName: 'Encoding',
		name: 'encoding',
		type: 'options',
		options: [
			{ name: 'Auto (UTF-8, UTF-16 with BOM, Else GBK)', value: 'auto' },
			{ name: 'UTF-8', value: 'utf8' },
			{ name: 'UTF-16LE', value: 'utf16le' },
			{ name: 'GBK (简体中文 Windows)', value: 'gbk' },
		],
		default: 'auto',
		displayOptions: { show: { operation: ['import'], source: ['binary'] } },
	},
	{
		displayName: 'Erase File After Reading',
		name: 'eraseFile',
		type: 'boolean',
		default: true,
		description:
			"Whether to overwrite and empty n8n's stored copy of the file once its keys are read, so that they do not stay in plain text in n8n's binary-data folder (filesystem mode, n8n's default). Turn off if a later node still needs the file.",
		displayOptions: { show: { operation: ['import'], source: ['binary'] } },
	},
	{
		displayName: 'Batch ID',
		name: 'batchId',
		type: 'string',
		default: '',
		description: 'Label for this import (to void a whole batch later). Empty: generated.',
		displayOptions: { show: { operation: ['import'] } },
	},
	{
		displayName: 'Product Name',
		name: 'productName',
		type: 'string',
		default: '',
		description: 'Name used when the SKU is new (existing products keep their name)',
		displayOptions: { show: { operation: ['import'] } },
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const sku = this.getNodeParameter('sku', i) as string;
	const source = this.getNodeParameter('source', i) as 'text' | 'binary';
	const format = this.getNodeParameter('format', i) as KeyFileFormat;
	const csv =
		format === 'csv'
			? {
					column: columnParam(this.getNodeParameter('column', i) as string),
					hasHeader: this.getNodeParameter('hasHeader', i) as boolean,
					delimiter: this.getNodeParameter('delimiter', i) as string,
				}
			: {};
	let input: string | Buffer;
	let encoding: TextEncoding = 'auto';
	let fileName: string | undefined;
	if (source === 'binary') {
		const prop = this.getNodeParameter('binaryPropertyName', i) as string;
		const meta = this.helpers.assertBinaryData(i, prop);
		fileName = meta.fileName;
		input = await this.helpers.getBinaryDataBuffer(i, prop);
		if (input.length === 0 && Number(meta.bytes) > 0) {
			throw new NodeOperationError(this.getNode(), `The file "${fileName ?? prop}" was already read and erased (Erase File After Reading). Upload it again.`, { itemIndex: i });
		}
		if (this.getNodeParameter('eraseFile', i, true) as boolean) await eraseStoredFile(this, meta);
		encoding = this.getNodeParameter('encoding', i) as TextEncoding;
	} else {
		input = this.getNodeParameter('keysText', i) as string;
	}
	const parsed = readKeys(input, { format, encoding, ...csv });
	const res = await store.importKeys({
		sku,
		keys: parsed.keys,
		batchId: (this.getNodeParameter('batchId', i) as string) || undefined,
		productName: (this.getNodeParameter('productName', i) as string) || undefined,
		actor,
	});
	emit(0, { ...res, received: res.received + parsed.blank, blank: res.blank + parsed.blank, ...(fileName ? { fileName } : {}) });
}

function columnParam(v: string): number | string {
	const s = String(v ?? '').trim();
	return /^\d+$/.test(s) ? Number(s) : s;
}
