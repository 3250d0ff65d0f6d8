/**
 * Risk Check's parameters. Each operation's own parameters are in its `*.operation.ts`; those several
 * operations show are in common.descriptions.ts, in the place they always had in the form.
 */
import type { INodeProperties } from 'n8n-workflow';

import { operationProperty } from '../../shared/descriptions';
import * as addToBlocklist from './addToBlocklist.operation';
import * as approveHeld from './approveHeld.operation';
import { kind, line, orderId, value } from './common.descriptions';
import * as evaluate from './evaluate.operation';
import * as listBlocklist from './listBlocklist.operation';
import * as removeFromBlocklist from './removeFromBlocklist.operation';

export const properties: INodeProperties[] = [
	operationProperty(
		[
			{ name: 'Add to Blocklist', value: 'addToBlocklist', description: 'Block a buyer ID, email or IP', action: 'Add to blocklist' },
			{
				name: 'Approve Held Order',
				value: 'approveHeld',
				description: 'Release an order line that was held for Review (or Rejected) so it can be delivered; outputs the line as recorded, ready for Claim Key',
				action: 'Approve a held order',
			},
			{ name: 'Evaluate', value: 'evaluate', description: 'Check an order and route it to Pass, Review or Reject', action: 'Evaluate an order' },
			{ name: 'List Blocklist', value: 'listBlocklist', description: 'List blocked buyer IDs, emails and IPs', action: 'List blocklist' },
			{ name: 'Remove From Blocklist', value: 'removeFromBlocklist', description: 'Unblock a buyer ID, email or IP', action: 'Remove from blocklist' },
		],
		'evaluate',
	),
	orderId,
	line,
	...approveHeld.description,
	...evaluate.description,
	kind,
	value,
	...addToBlocklist.description,
	...removeFromBlocklist.description,
	...listBlocklist.description,
];
