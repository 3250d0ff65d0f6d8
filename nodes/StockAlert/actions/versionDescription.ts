/** Stock Alert's parameters. Each operation's own parameters are in its `*.operation.ts`. */
import type { INodeProperties } from 'n8n-workflow';

import { operationProperty } from '../../shared/descriptions';
import * as checkDeliveries from './checkDeliveries.operation';
import * as checkStock from './checkStock.operation';

export const properties: INodeProperties[] = [
	operationProperty(
		[
			{ name: 'Check Stock', value: 'checkStock', description: 'One item per SKU that just ran low or out', action: 'Check stock' },
			{ name: 'Check Deliveries', value: 'checkDeliveries', description: 'One item per delivery claimed but not sent, or sent but not shipped, for too long', action: 'Check deliveries' },
		],
		'checkStock',
	),
	{
		displayName: 'This node runs once per execution (a Schedule Trigger gives one item); its output items are paired to the first input item',
		name: 'onceNotice',
		type: 'notice',
		default: '',
	},
	...checkStock.description,
	...checkDeliveries.description,
];
