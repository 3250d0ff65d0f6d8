import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import { testSmtpCredential } from '../shared/notify';
import { testShopApiCredential } from '../shared/shopApi';
import { testKeyStoreCredential } from '../shared/store';
import { properties } from './actions/description';
import { router } from './actions/router';

export class NotifyBuyer implements INodeType {
	// The node's own fields stay here, where n8n's lint rules read them (icon, credentials, usableAsTool).
	description: INodeTypeDescription = {
		displayName: 'Notify Buyer',
		name: 'notifyBuyer',
		icon: { light: 'file:notifyBuyer.svg', dark: 'file:notifyBuyer.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"] === "resend" ? "Resend" : $parameter["operation"] === "sendFollowUp" ? "Follow-up" : $parameter["operation"] === "sendDelayNotice" ? "Delay notice" : "Send"}} by {{$parameter["channel"] === "webhook" ? "webhook" : "email"}}',
		description: 'Send the delivered keys (卡密) to the buyer by email or webhook and record the send; resend on request; tell the buyer about a delay (once per order); follow up after the delivery',
		defaults: { name: 'Notify Buyer' },
		// As an AI agent's tool (support: "my key never arrived"): Resend; keys are always masked in its answer (shared/tool.ts).
		usableAsTool: {
			replacements: {
				description:
					'Send a delivered order line to its buyer again (Resend), by order ID or delivery ID: the same keys as before, by the shop\'s email or webhook channel, to the buyer\'s recorded address unless another is given. Refunded orders are never sent. Answers whether it was sent, to whom and when; keys stay masked',
			},
		},
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' },
			{ name: 'autoDeliverySmtp', required: true, testedBy: 'autoDeliverySmtpTest', displayOptions: { show: { channel: ['email'] } } },
			{
				name: 'autoDeliveryShopApi',
				required: true,
				testedBy: 'autoDeliveryShopApiTest',
				displayOptions: { show: { channel: ['webhook'], webhookAuth: ['shopApi'] } },
			},
		],
		properties,
	};

	methods = {
		credentialTest: {
			autoDeliveryKeyStoreTest: testKeyStoreCredential,
			autoDeliverySmtpTest: testSmtpCredential,
			autoDeliveryShopApiTest: testShopApiCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
