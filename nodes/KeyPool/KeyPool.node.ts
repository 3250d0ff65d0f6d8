import { open as openFile } from 'fs/promises';

import type { IBinaryData } from 'n8n-workflow';
import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { exportCsv } from '../core/keyfiles';
import { deliveryDetails } from '../core/delivery';
import type { KeyStatus, KeyStore } from '../core/store';
import { type KeyFileFormat, type TextEncoding, readKeys } from '../core/keyfiles';
import { actorOf, storeFor, testKeyStoreCredential } from '../shared/store';
import { toNodeError } from '../shared/errors';

export class KeyPool implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Key Pool',
		name: 'keyPool',
		icon: { light: 'file:keyPool.svg', dark: 'file:keyPool.dark.svg' },
		group: ['transform'],
		version: [1, 2],
		defaultVersion: 2,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Import, count, list, void and export card keys / license keys (卡密) in the encrypted key store',
		defaults: { name: 'Key Pool' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' }],
		properties: [
			// Version 2 groups the operations by resource (Key, Product, Delivery); version 1 keeps its one
			// list so workflows saved with it open unchanged. Operation values are the same in both.
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Delivery', value: 'delivery', description: 'What an order received' },
					{ name: 'Key', value: 'key', description: 'Card keys / license keys in stock' },
					{ name: 'Product', value: 'product', description: 'A SKU: name, low-stock threshold, fixed content' },
				],
				default: 'key',
				displayOptions: { show: { '@version': [2] } },
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Export', value: 'exportKeys', description: 'Back up keys as a CSV file (decrypted)', action: 'Export keys' },
					{ name: 'Get Stock', value: 'getStock', description: 'Count keys per SKU and status', action: 'Get stock' },
					{ name: 'Import', value: 'import', description: 'Add keys from text or a TXT/CSV file', action: 'Import keys' },
					{ name: 'List', value: 'listKeys', description: 'List keys of a SKU, masked', action: 'List keys' },
					{ name: 'Void', value: 'voidKeys', description: 'Withdraw unsold keys so they are never delivered', action: 'Void keys' },
				],
				default: 'import',
				displayOptions: { show: { '@version': [2], resource: ['key'] } },
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Upsert', value: 'upsertProduct', description: 'Create or update a product (name, low-stock threshold, fixed content)', action: 'Upsert a product' },
				],
				default: 'upsertProduct',
				displayOptions: { show: { '@version': [2], resource: ['product'] } },
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [{ name: 'Get', value: 'getDelivery', description: 'Look up what an order received', action: 'Get a delivery' }],
				default: 'getDelivery',
				displayOptions: { show: { '@version': [2], resource: ['delivery'] } },
			},
			// version 1's single list (saved workflows open unchanged)
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Export Keys', value: 'exportKeys', description: 'Back up keys as a CSV file (decrypted)', action: 'Export keys' },
					{ name: 'Get Delivery', value: 'getDelivery', description: 'Look up what an order received', action: 'Get a delivery' },
					{ name: 'Get Stock', value: 'getStock', description: 'Count keys per SKU and status', action: 'Get stock' },
					{ name: 'Import Keys', value: 'import', description: 'Add keys from text or a TXT/CSV file', action: 'Import keys' },
					{ name: 'List Keys', value: 'listKeys', description: 'List keys of a SKU, masked', action: 'List keys' },
					{ name: 'Upsert Product', value: 'upsertProduct', description: 'Create or update a product (name, low-stock threshold, fixed content)', action: 'Upsert a product' },
					{ name: 'Void Keys', value: 'voidKeys', description: 'Withdraw unsold keys so they are never delivered', action: 'Void keys' },
				],
				default: 'import',
				displayOptions: { show: { '@version': [1] } },
			},
			// ---------------------------------------------------------------- sku
			{
				displayName: 'SKU',
				name: 'sku',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'STEAM-50',
				description: 'Product code the keys belong to (must match the SKU in shop orders)',
				displayOptions: { show: { operation: ['import', 'listKeys', 'voidKeys', 'upsertProduct'] } },
			},
			{
				displayName: 'SKU',
				name: 'skuFilter',
				type: 'string',
				default: '',
				placeholder: 'All SKUs',
				description: 'Only this SKU; empty for every SKU',
				displayOptions: { show: { operation: ['getStock', 'exportKeys'] } },
			},
			// ---------------------------------------------------------------- import
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
			// ---------------------------------------------------------------- list
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: [
					{ name: 'All', value: 'all' },
					{ name: 'Available', value: 'available' },
					{ name: 'Assigned', value: 'assigned' },
					{ name: 'Revoked', value: 'revoked' },
					{ name: 'Void', value: 'void' },
				],
				default: 'all',
				displayOptions: { show: { operation: ['listKeys', 'exportKeys'] } },
			},
			{
				displayName: 'Limit',
				name: 'limit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				description: 'Max number of results to return',
				displayOptions: { show: { operation: ['listKeys'] } },
			},
			{
				displayName: 'Offset',
				name: 'offset',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Skip this many keys (for paging)',
				displayOptions: { show: { operation: ['listKeys'] } },
			},
			// ---------------------------------------------------------------- void
			{
				displayName: 'Void Which Keys',
				name: 'voidSelector',
				type: 'options',
				options: [
					{ name: 'By Key ID', value: 'ids' },
					{ name: 'By Key Value', value: 'keys' },
					{ name: 'Whole Batch', value: 'batch' },
					{ name: 'All Available Keys of the SKU', value: 'all' },
				],
				default: 'ids',
				description: 'Only keys still available are voided; delivered keys are never touched',
				displayOptions: { show: { operation: ['voidKeys'] } },
			},
			{
				displayName: 'Key IDs',
				name: 'keyIds',
				type: 'string',
				default: '',
				placeholder: '12, 13, 20',
				displayOptions: { show: { operation: ['voidKeys'], voidSelector: ['ids'] } },
			},
			{
				displayName: 'Key Values',
				name: 'keyValues',
				type: 'string',
				typeOptions: { rows: 4, password: true },
				default: '',
				description: 'One key per line',
				displayOptions: { show: { operation: ['voidKeys'], voidSelector: ['keys'] } },
			},
			{
				displayName: 'Batch ID',
				name: 'voidBatchId',
				type: 'string',
				default: '',
				displayOptions: { show: { operation: ['voidKeys'], voidSelector: ['batch'] } },
			},
			{
				displayName: 'Reason',
				name: 'reason',
				type: 'string',
				default: '',
				displayOptions: { show: { operation: ['voidKeys'] } },
			},
			// ---------------------------------------------------------------- export
			{
				displayName: 'Output Binary Field',
				name: 'outputBinaryPropertyName',
				type: 'string',
				default: 'data',
				displayOptions: { show: { operation: ['exportKeys'] } },
			},
			{
				displayName: 'File Name',
				name: 'fileName',
				type: 'string',
				default: 'keys-backup.csv',
				displayOptions: { show: { operation: ['exportKeys'] } },
			},
			// ---------------------------------------------------------------- product
			{
				displayName: 'Product Name',
				name: 'name',
				type: 'string',
				default: '',
				description: 'Empty keeps the current name (new products use the SKU)',
				displayOptions: { show: { operation: ['upsertProduct'] } },
			},
			{
				displayName: 'Low-Stock Threshold',
				name: 'lowStockThreshold',
				type: 'number',
				typeOptions: { minValue: -1 },
				default: -1,
				description: 'Alert when available keys fall to this number. -1 keeps the current value (Stock Alert then uses its own default).',
				displayOptions: { show: { operation: ['upsertProduct'] } },
			},
			{
				displayName: 'Fixed Content',
				name: 'fixedContentMode',
				type: 'options',
				options: [
					{ name: 'Keep', value: 'keep', description: 'Leave fixed content as it is' },
					{ name: 'Set', value: 'set', description: 'Every buyer receives the same content (e.g. a download link) instead of a pool key' },
					{ name: 'Clear', value: 'clear', description: 'Deliver keys from the pool again' },
				],
				default: 'keep',
				displayOptions: { show: { operation: ['upsertProduct'] } },
			},
			{
				displayName: 'Content',
				name: 'fixedContent',
				type: 'string',
				typeOptions: { rows: 3, password: true },
				default: '',
				description: 'Stored encrypted, like keys',
				displayOptions: { show: { operation: ['upsertProduct'], fixedContentMode: ['set'] } },
			},
			// ---------------------------------------------------------------- delivery
			{
				displayName: 'Order ID',
				name: 'orderId',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { operation: ['getDelivery'] } },
			},
			{
				displayName: 'Shop',
				name: 'deliveryShop',
				type: 'string',
				default: '',
				description: 'The shop the order belongs to. An order is identified by Shop + Order ID + SKU, so two shops may use the same order ID. Empty: the default shop.',
				displayOptions: { show: { operation: ['getDelivery'] } },
			},
			{
				displayName: 'SKU',
				name: 'deliverySku',
				type: 'string',
				default: '',
				placeholder: 'All lines of the order',
				displayOptions: { show: { operation: ['getDelivery'] } },
			},
			{
				displayName: 'Include Keys in Output',
				name: 'includeKeys',
				type: 'boolean',
				default: false,
				description: 'Whether to output the keys in plain text. Off: masked like ABCD…WXYZ. Plain keys end up in n8n execution data.',
				displayOptions: { show: { operation: ['getDelivery'] } },
			},
		],
	};

	methods = {
		credentialTest: { autoDeliveryKeyStoreTest: testKeyStoreCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		let store: KeyStore;
		try {
			store = await storeFor(this);
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error, 0);
			return [items.map((_, i) => ({ json: { error: (error as Error).message }, pairedItem: { item: i } }))];
		}
		const actor = actorOf(this);

		for (let i = 0; i < items.length; i++) {
			const operation = this.getNodeParameter('operation', i) as string;
			const emit = (json: IDataObject) => out.push({ json, pairedItem: { item: i } });
			try {
				switch (operation) {
					case 'import': {
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
						emit({ ...res, received: res.received + parsed.blank, blank: res.blank + parsed.blank, ...(fileName ? { fileName } : {}) });
						break;
					}
					case 'getStock': {
						const sku = (this.getNodeParameter('skuFilter', i) as string) || null;
						const rows = await store.stock(sku);
						if (sku && rows.length === 0) {
							throw new NodeOperationError(this.getNode(), `Unknown SKU "${sku}": no product and no keys.`, { itemIndex: i });
						}
						for (const r of rows) emit({ ...r });
						break;
					}
					case 'listKeys': {
						const status = this.getNodeParameter('status', i) as string;
						const rows = await store.listKeys({
							sku: this.getNodeParameter('sku', i) as string,
							status: status === 'all' ? null : (status as KeyStatus),
							limit: this.getNodeParameter('limit', i) as number,
							offset: this.getNodeParameter('offset', i) as number,
						});
						for (const r of rows) emit({ ...r });
						break;
					}
					case 'voidKeys': {
						const selector = this.getNodeParameter('voidSelector', i) as string;
						const sku = this.getNodeParameter('sku', i) as string;
						const reason = this.getNodeParameter('reason', i) as string;
						const res = await store.voidKeys({
							sku,
							reason,
							actor,
							ids: selector === 'ids' ? idList(this.getNodeParameter('keyIds', i) as string) : undefined,
							keys: selector === 'keys' ? lines(this.getNodeParameter('keyValues', i) as string) : undefined,
							batchId: selector === 'batch' ? (this.getNodeParameter('voidBatchId', i) as string) : undefined,
							all: selector === 'all',
						});
						emit({ ...res });
						break;
					}
					case 'exportKeys': {
						const sku = (this.getNodeParameter('skuFilter', i) as string) || null;
						const status = this.getNodeParameter('status', i) as string;
						const { buffer, rows } = await exportCsv(store.exportKeys({ sku, status: status === 'all' ? null : (status as KeyStatus) }));
						const prop = this.getNodeParameter('outputBinaryPropertyName', i) as string;
						const fileName = this.getNodeParameter('fileName', i) as string;
						const binary = await this.helpers.prepareBinaryData(buffer, fileName || 'keys-backup.csv', 'text/csv');
						out.push({ json: { sku, status, exported: rows, fileName }, binary: { [prop]: binary }, pairedItem: { item: i } });
						break;
					}
					case 'upsertProduct': {
						const mode = this.getNodeParameter('fixedContentMode', i) as string;
						const threshold = this.getNodeParameter('lowStockThreshold', i) as number;
						const product = await store.upsertProduct({
							sku: this.getNodeParameter('sku', i) as string,
							name: (this.getNodeParameter('name', i) as string) || null,
							lowStockThreshold: threshold < 0 ? undefined : threshold,
							fixedContent: mode === 'set' ? (this.getNodeParameter('fixedContent', i) as string) : mode === 'clear' ? null : undefined,
							actor,
						});
						emit({ ...product });
						break;
					}
					case 'getDelivery': {
						const ref = {
							orderId: this.getNodeParameter('orderId', i) as string,
							shop: this.getNodeParameter('deliveryShop', i, '') as string,
							sku: (this.getNodeParameter('deliverySku', i) as string) || null,
						};
						const deliveries = await store.getDeliveries({ ...ref, reveal: this.getNodeParameter('includeKeys', i) as boolean });
						// None: findDelivery says so, naming the shops that do have this order ID.
						if (deliveries.length === 0) await store.findDelivery(ref);
						for (const d of deliveries) emit(deliveryDetails(d) as unknown as IDataObject);
						break;
					}
					default:
						throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}".`, { itemIndex: i });
				}
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i);
				if (this.continueOnFail()) {
					out.push({ json: { error: nodeError.message, operation }, pairedItem: { item: i } });
					continue;
				}
				throw nodeError;
			}
		}
		return [out];
	}
}

function columnParam(v: string): number | string {
	const s = String(v ?? '').trim();
	return /^\d+$/.test(s) ? Number(s) : s;
}

function idList(v: string): number[] {
	return String(v ?? '')
		.split(/[\s,;，]+/)
		.filter((s) => s !== '')
		.map((s) => Number(s));
}

function lines(v: string): string[] {
	return String(v ?? '').split(/\r\n|\r|\n/);
}

/**
 * Overwrites n8n's stored copy of a consumed binary with zeros and empties it. n8n 2.x offers nodes
 * no way to delete a binary; in filesystem mode (n8n's default in regular mode) `getBinaryPath`
 * gives the file (<n8n folder>/storage/workflows/<workflow>/executions/<execution or temp>/binary_data/<uuid>).
 * The empty file stays, so n8n's own bookkeeping (moving it to the execution's folder, deleting it
 * with the execution) goes on as usual. Other modes (database, S3, `default` = inline in the
 * execution data) are out of a node's reach: there the file goes with the execution.
 */
async function eraseStoredFile(ctx: IExecuteFunctions, binary: IBinaryData): Promise<void> {
	const [mode, fileId] = String(binary.id ?? '').split(':');
	if (!fileId || (mode !== 'filesystem' && mode !== 'filesystem-v2')) return;
	try {
		const handle = await openFile(ctx.helpers.getBinaryPath(binary.id as string), 'r+');
		try {
			const { size } = await handle.stat();
			const zeros = Buffer.alloc(Math.min(size, 1 << 20));
			for (let pos = 0; pos < size; pos += zeros.length) await handle.write(zeros, 0, Math.min(zeros.length, size - pos), pos);
			await handle.sync(); // the zeros reach the disk before the blocks are freed
			await handle.truncate(0);
			await handle.sync();
		} finally {
			await handle.close();
		}
	} catch (error) {
		ctx.logger.warn(`Key Pool: could not erase the imported file "${binary.fileName ?? fileId}": ${(error as Error).message}`);
	}
}
