import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { testKeyStoreCredential } from '../shared/store';
import { router } from './actions/router';
import { properties } from './actions/versionDescription';

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
		// As an AI agent's tool (support: "what did order X get?"): keys are always masked there (shared/tool.ts).
		usableAsTool: {
			replacements: {
				description:
					'Look up what a shop order received, by order ID (and shop, SKU): for each order line the delivery status (claimed, sent, shipped, revoked or refunded), when the keys were sent to the buyer and when the shop was told, and the keys masked like ABCD…WXYZ (never in plain text)',
			},
		},
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' }],
		properties,
	};

	methods = {
		credentialTest: { autoDeliveryKeyStoreTest: testKeyStoreCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
