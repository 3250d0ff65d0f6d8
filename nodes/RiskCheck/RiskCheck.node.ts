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

export class RiskCheck implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Risk Check',
		name: 'riskCheck',
		icon: { light: 'file:riskCheck.svg', dark: 'file:riskCheck.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Screen orders before delivery: blocklists, order limits per buyer / email / IP, maximum quantity, amount review (风控)',
		defaults: { name: 'Risk Check' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{ $parameter["operation"] === "evaluate" || $parameter["operation"] === undefined ? [{ type: "main", displayName: "Pass" }, { type: "main", displayName: "Review" }, { type: "main", displayName: "Reject" }] : [{ type: "main" }] }}`,
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
