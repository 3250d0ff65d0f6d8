/**
 * Key Pool's parameters, both versions. Version 2 groups the operations by resource (Key, Product,
 * Delivery); version 1 keeps its one list so workflows saved with it open unchanged. Operation
 * values are the same in both. Each operation's own parameters are in its `*.operation.ts`; those
 * several operations show are in common.descriptions.ts, in the place they always had in the form.
 */
import type { IDisplayOptions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { operationProperty } from '../../shared/descriptions';
import { sku, skuFilter, status } from './common.descriptions';
import * as completeWaiting from './delivery/completeWaiting.operation';
import * as deliveryPage from './delivery/deliveryPage.operation';
import * as getDelivery from './delivery/getDelivery.operation';
import * as exportKeys from './key/exportKeys.operation';
import * as getStock from './key/getStock.operation';
import * as importKeys from './key/import.operation';
import * as listKeys from './key/listKeys.operation';
import * as voidKeys from './key/voidKeys.operation';
import * as upsertProduct from './product/upsertProduct.operation';

/** The entry of each operation in the menus; the name differs between the versions. */
const menu = {
	completeWaiting: {
		value: 'completeWaiting',
		description: 'Deliver the order lines waiting for this SKU, in order of payment, with the stock now available',
		action: 'Complete waiting orders',
	},
	deliveryPage: { value: 'deliveryPage', description: "Serve the buyer's delivery page of a signed link (the delivery-page workflow)", action: 'Open the delivery page of a link' },
	exportKeys: { value: 'exportKeys', description: 'Back up keys as a CSV file (decrypted)', action: 'Export keys' },
	getDelivery: { value: 'getDelivery', description: 'Look up what an order received: status, sent and shipped times, masked keys', action: 'Get the delivery of an order' },
	getStock: { value: 'getStock', description: 'Count keys per SKU and status', action: 'Get stock' },
	import: { value: 'import', description: 'Add keys from text or a TXT/CSV file', action: 'Import keys' },
	listKeys: { value: 'listKeys', description: 'List keys of a SKU, masked', action: 'List keys' },
	upsertProduct: { value: 'upsertProduct', description: 'Create or update a product (name, low-stock threshold, fixed content)', action: 'Upsert a product' },
	voidKeys: { value: 'voidKeys', description: 'Withdraw unsold keys so they are never delivered', action: 'Void keys' },
};

function operation(options: INodePropertyOptions[], defaultValue: string, show: IDisplayOptions['show']): INodeProperties {
	return operationProperty(options, defaultValue, { displayOptions: { show } });
}

export const properties: INodeProperties[] = [
	{
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Delivery', value: 'delivery', description: 'What an order received; order lines waiting for stock' },
			{ name: 'Key', value: 'key', description: 'Card keys / license keys in stock' },
			{ name: 'Product', value: 'product', description: 'A SKU: name, low-stock threshold, fixed content' },
		],
		default: 'key',
		displayOptions: { show: { '@version': [2] } },
	},
	operation(
		[
			{ name: 'Export', ...menu.exportKeys },
			{ name: 'Get Stock', ...menu.getStock },
			{ name: 'Import', ...menu.import },
			{ name: 'List', ...menu.listKeys },
			{ name: 'Void', ...menu.voidKeys },
		],
		'import',
		{ '@version': [2], resource: ['key'] },
	),
	operation([{ name: 'Upsert', ...menu.upsertProduct }], 'upsertProduct', { '@version': [2], resource: ['product'] }),
	operation([{ name: 'Complete Waiting Orders', ...menu.completeWaiting }, { name: 'Get', ...menu.getDelivery }, { name: 'Open Delivery Page', ...menu.deliveryPage }], 'getDelivery', { '@version': [2], resource: ['delivery'] }),
	// version 1's single list (saved workflows open unchanged)
	operation(
		[
			{ name: 'Complete Waiting Orders', ...menu.completeWaiting },
			{ name: 'Export Keys', ...menu.exportKeys },
			{ name: 'Get Delivery', ...menu.getDelivery },
			{ name: 'Get Stock', ...menu.getStock },
			{ name: 'Import Keys', ...menu.import },
			{ name: 'Open Delivery Page', ...menu.deliveryPage },
			{ name: 'List Keys', ...menu.listKeys },
			{ name: 'Upsert Product', ...menu.upsertProduct },
			{ name: 'Void Keys', ...menu.voidKeys },
		],
		'import',
		{ '@version': [1] },
	),
	sku,
	skuFilter,
	...importKeys.description,
	status,
	...listKeys.description,
	...getStock.description,
	...voidKeys.description,
	...exportKeys.description,
	...upsertProduct.description,
	...getDelivery.description,
	...deliveryPage.description,
	...completeWaiting.description,
];
