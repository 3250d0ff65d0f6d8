import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import { testShopApiCredential } from '../shared/shopApi';
import { testKeyStoreCredential } from '../shared/store';
import { properties } from './description';
import { shipItems } from './execute';

export class MarkShipped implements INodeType {
	// The node's own fields stay here, where n8n's lint rules read them (icon, credentials, usableAsTool).
	description: INodeTypeDescription = {
		displayName: 'Mark Shipped',
		name: 'markShipped',
		icon: { light: 'file:markShipped.svg', dark: 'file:markShipped.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle:
			'={{$parameter["mode"] === "recordOnly" ? "Record Only" : $parameter["platform"] === "woocommerce" ? "WooCommerce" : $parameter["platform"] === "shopify" ? "Shopify" : $parameter["platform"] === "taobao" ? "Taobao / Tmall" : $parameter["platform"] === "goofish" ? "闲鱼 / 闲管家" : $parameter["platform"] === "youzan" ? "有赞" : ($parameter["platform"] || "custom") !== "custom" ? "Record Only (" + $parameter["platform"] + ")" : $parameter["method"] + " " + $parameter["path"]}}',
		description: 'Mark an order shipped on the shop (发货) — only after the buyer was sent the content, never fake shipping (虚假发货)',
		defaults: { name: 'Mark Shipped' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Shipped', 'Not Sent'],
		credentials: [
			{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' },
			{
				name: 'autoDeliveryShopApi',
				required: true,
				testedBy: 'autoDeliveryShopApiTest',
				// the record-only presets (Stripe, Lemon Squeezy, Paddle) call nothing
				displayOptions: { show: { mode: ['callApi'], platform: ['custom', 'woocommerce', 'shopify', 'taobao', 'goofish', 'youzan'] } },
			},
		],
		properties,
	};

	methods = {
		credentialTest: {
			autoDeliveryKeyStoreTest: testKeyStoreCredential,
			autoDeliveryShopApiTest: testShopApiCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await shipItems.call(this);
	}
}
