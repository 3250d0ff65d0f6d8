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

export class StockAlert implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Stock Alert',
		name: 'stockAlert',
		icon: { light: 'file:stockAlert.svg', dark: 'file:stockAlert.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Warn when card keys run low or out (once per crossing) and find deliveries stuck between claim, send and ship (库存预警)',
		defaults: { name: 'Stock Alert' },
		usableAsTool: true,
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
