/**
 * Knex migrations for the key store (DESIGN §3), served from code so they work from `dist/`
 * without a migrations folder. Every table name carries the configurable prefix.
 */
import type { Knex } from 'knex';

import { StoreError } from '../../errors';
import { ID_MAX } from '../../validate';

export interface TableNames {
	products: string;
	keys: string;
	deliveries: string;
	events: string;
	meta: string;
	riskLog: string;
	riskLocks: string;
	blocklist: string;
	alerts: string;
	waiting: string;
	notices: string;
	migrations: string;
}

export function tableNames(prefix: string): TableNames {
	return {
		products: `${prefix}products`,
		keys: `${prefix}keys`,
		deliveries: `${prefix}deliveries`,
		events: `${prefix}events`,
		meta: `${prefix}meta`,
		riskLog: `${prefix}risk_log`,
		riskLocks: `${prefix}risk_locks`,
		blocklist: `${prefix}blocklist`,
		alerts: `${prefix}alerts`,
		waiting: `${prefix}waiting`,
		notices: `${prefix}notices`,
		migrations: `${prefix}migrations`,
	};
}

interface Migration {
	name: string;
	up(knex: Knex, t: TableNames): Promise<void>;
	down(knex: Knex, t: TableNames): Promise<void>;
}

const migrations: Migration[] = [
	{
		name: '001_key_store',
		async up(knex, t) {
			await knex.schema.createTable(t.meta, (tb) => {
				tb.string('name', 64).primary();
				tb.text('value').notNullable();
			});
			await knex.schema.createTable(t.products, (tb) => {
				tb.string('sku', ID_MAX).primary();
				tb.string('name', 255).notNullable();
				tb.integer('low_stock_threshold').nullable();
				tb.text('fixed_content').nullable(); // sealed
				tb.bigInteger('created_at').notNullable();
				tb.bigInteger('updated_at').notNullable();
			});
			await knex.schema.createTable(t.keys, (tb) => {
				tb.increments('id').primary();
				tb.string('sku', ID_MAX).notNullable();
				tb.bigInteger('seq').notNullable();
				tb.integer('rand').notNullable();
				tb.text('secret').notNullable(); // sealed
				tb.string('fingerprint', 32).notNullable(); // truncated HMAC, base64url
				tb.string('status', 16).notNullable();
				tb.string('batch_id', 64).notNullable();
				tb.integer('delivery_id').nullable();
				tb.bigInteger('created_at').notNullable();
				tb.bigInteger('assigned_at').nullable();
				tb.bigInteger('revoked_at').nullable();
				tb.bigInteger('voided_at').nullable();
				tb.unique(['sku', 'fingerprint'], { indexName: `${t.keys}_sku_fp_uq` });
				tb.index(['sku', 'status', 'seq', 'id'], `${t.keys}_pick_seq_ix`);
				tb.index(['sku', 'status', 'rand'], `${t.keys}_pick_rand_ix`);
			});
			// Keys of a delivery (replays, revocation). Partial where the database allows it, so an
			// import (delivery_id still null) does not maintain this index at all. Voiding a batch
			// walks the (sku, status) pick index instead of a batch index of its own.
			if (knex.client.dialect === 'mysql') {
				await knex.schema.alterTable(t.keys, (tb) => tb.index(['delivery_id'], `${t.keys}_delivery_ix`));
			} else {
				await knex.raw(`CREATE INDEX ?? ON ?? (delivery_id) WHERE delivery_id IS NOT NULL`, [`${t.keys}_delivery_ix`, t.keys]);
			}
			await knex.schema.createTable(t.deliveries, (tb) => {
				tb.increments('id').primary();
				tb.string('order_id', ID_MAX).notNullable();
				tb.string('sku', ID_MAX).notNullable();
				tb.integer('quantity').notNullable();
				tb.string('status', 16).notNullable(); // claimed | sent | shipped | revoked
				tb.string('strategy', 16).nullable();
				tb.text('content').nullable(); // sealed copy of a product's fixed content
				tb.string('buyer_id', ID_MAX).nullable();
				tb.string('buyer_name', 255).nullable();
				tb.string('buyer_email', 320).nullable();
				tb.string('buyer_ip', 64).nullable();
				tb.decimal('amount', 14, 2).nullable();
				tb.string('shop', ID_MAX).nullable();
				tb.bigInteger('created_at').notNullable();
				tb.bigInteger('updated_at').notNullable();
				tb.bigInteger('sent_at').nullable();
				tb.string('sent_channel', 32).nullable();
				tb.string('sent_message_id', 255).nullable();
				tb.bigInteger('shipped_at').nullable();
				tb.string('shop_reference', 255).nullable();
				tb.bigInteger('revoked_at').nullable();
				tb.string('revoke_reason', 255).nullable();
				tb.text('last_error').nullable();
				tb.unique(['order_id', 'sku'], { indexName: `${t.deliveries}_order_sku_uq` });
				tb.index(['status', 'updated_at'], `${t.deliveries}_status_ix`);
			});
			await knex.schema.createTable(t.events, (tb) => {
				tb.increments('id').primary();
				tb.bigInteger('at').notNullable();
				tb.string('type', 32).notNullable();
				tb.string('sku', ID_MAX).nullable();
				tb.string('order_id', ID_MAX).nullable();
				tb.integer('delivery_id').nullable();
				tb.integer('count').nullable();
				tb.string('actor', 255).nullable();
				tb.text('details').nullable(); // JSON, never a secret
				tb.index(['order_id'], `${t.events}_order_ix`);
				tb.index(['at'], `${t.events}_at_ix`);
			});
		},
		async down(knex, t) {
			for (const name of [t.events, t.deliveries, t.keys, t.products, t.meta]) {
				await knex.schema.dropTableIfExists(name);
			}
		},
	},
	{
		// Notify Buyer / Mark Shipped leases (one sender and one shipper per delivery, across workers),
		// Risk Check (attempt log, per-subject lock rows, blocklist) and Stock Alert state.
		name: '002_delivery_lifecycle',
		async up(knex, t) {
			await knex.schema.alterTable(t.deliveries, (tb) => {
				tb.bigInteger('send_lock_until').nullable();
				tb.string('send_token', 36).nullable();
				tb.integer('send_count').notNullable().defaultTo(0);
				tb.bigInteger('ship_lock_until').nullable();
				tb.string('ship_token', 36).nullable();
				tb.integer('ship_attempts').notNullable().defaultTo(0);
			});
			await knex.schema.createTable(t.riskLog, (tb) => {
				tb.increments('id').primary();
				tb.bigInteger('at').notNullable();
				tb.string('order_id', ID_MAX).notNullable();
				tb.string('line', ID_MAX).notNullable(); // sku of the order line, '' for the whole order
				tb.string('buyer_id', ID_MAX).nullable();
				tb.string('buyer_email', 320).nullable();
				tb.string('buyer_ip', 64).nullable();
				tb.string('buyer_name', 255).nullable();
				tb.string('shop', ID_MAX).nullable();
				tb.integer('quantity').nullable();
				tb.decimal('amount', 14, 2).nullable();
				tb.string('decision', 16).notNullable(); // pass | review | reject
				tb.text('reasons').nullable(); // JSON
				tb.bigInteger('approved_at').nullable(); // a seller approved a held (review/reject) order line
				tb.unique(['order_id', 'line'], { indexName: `${t.riskLog}_order_uq` });
				tb.index(['buyer_id', 'at'], `${t.riskLog}_buyer_ix`);
				tb.index(['buyer_email', 'at'], `${t.riskLog}_email_ix`);
				tb.index(['buyer_ip', 'at'], `${t.riskLog}_ip_ix`);
			});
			await knex.schema.createTable(t.riskLocks, (tb) => {
				tb.string('kind', 16).notNullable();
				tb.string('value', ID_MAX).notNullable();
				tb.primary(['kind', 'value']);
			});
			await knex.schema.createTable(t.blocklist, (tb) => {
				tb.increments('id').primary();
				tb.string('kind', 16).notNullable(); // buyer | email | ip
				tb.string('value', ID_MAX).notNullable();
				tb.string('reason', 255).nullable();
				tb.bigInteger('created_at').notNullable();
				tb.unique(['kind', 'value'], { indexName: `${t.blocklist}_uq` });
			});
			await knex.schema.createTable(t.alerts, (tb) => {
				tb.string('sku', ID_MAX).primary();
				tb.string('state', 16).notNullable(); // ok | low | empty
				tb.integer('available').notNullable();
				tb.bigInteger('changed_at').notNullable();
			});
		},
		async down(knex, t) {
			for (const name of [t.alerts, t.blocklist, t.riskLocks, t.riskLog]) await knex.schema.dropTableIfExists(name);
			await knex.schema.alterTable(t.deliveries, (tb) => {
				tb.dropColumns('send_lock_until', 'send_token', 'send_count', 'ship_lock_until', 'ship_token', 'ship_attempts');
			});
		},
	},
	{
		// SQLite only: the claim of a new order line as ONE statement (see sqliteClaimDdl below).
		name: '003_sqlite_one_statement_claim',
		async up(knex, t) {
			if (knex.client.dialect !== 'sqlite3') return;
			for (const sql of sqliteClaimDdlV1(t)) await knex.raw(sql);
		},
		async down(knex, t) {
			if (knex.client.dialect !== 'sqlite3') return;
			await knex.raw(`DROP VIEW IF EXISTS "${sqliteClaimView(t)}"`); // drops its trigger too
		},
	},
	{
		// Leaner indexes on the paths every claim and every import write.
		// PostgreSQL and SQLite: the two pick indexes hold available keys only (partial indexes).
		// Smaller entries (no status column) cut an import's index work, and a claim, which moves a
		// key out of `available`, no longer inserts index entries for it. Every query that picks or
		// counts available keys spells `status = 'available'` as a literal, so both planners can use
		// them. MySQL/MariaDB have no partial indexes and keep the (sku, status, …) ones.
		// All databases: the events index on `at` goes; no query reads events by time (the audit
		// trail is read newest first by id, or by order), and every claim paid for it.
		name: '004_lean_indexes',
		async up(knex, t) {
			await knex.schema.alterTable(t.events, (tb) => tb.dropIndex(['at'], `${t.events}_at_ix`));
			if (knex.client.dialect === 'mysql') return;
			await knex.raw('DROP INDEX IF EXISTS ??', [`${t.keys}_pick_seq_ix`]);
			await knex.raw('DROP INDEX IF EXISTS ??', [`${t.keys}_pick_rand_ix`]);
			await knex.raw(`CREATE INDEX ?? ON ?? (sku, seq, id) WHERE ${AVAILABLE}`, [`${t.keys}_avail_seq_ix`, t.keys]);
			await knex.raw(`CREATE INDEX ?? ON ?? (sku, rand, id) WHERE ${AVAILABLE}`, [`${t.keys}_avail_rand_ix`, t.keys]);
		},
		async down(knex, t) {
			await knex.schema.alterTable(t.events, (tb) => tb.index(['at'], `${t.events}_at_ix`));
			if (knex.client.dialect === 'mysql') return;
			await knex.raw('DROP INDEX IF EXISTS ??', [`${t.keys}_avail_seq_ix`]);
			await knex.raw('DROP INDEX IF EXISTS ??', [`${t.keys}_avail_rand_ix`]);
			await knex.schema.alterTable(t.keys, (tb) => {
				tb.index(['sku', 'status', 'seq', 'id'], `${t.keys}_pick_seq_ix`);
				tb.index(['sku', 'status', 'rand'], `${t.keys}_pick_rand_ix`);
			});
		},
	},
	{
		// An order line's identity is (shop, order_id, sku), compared byte-exactly (DESIGN §3).
		// - deliveries and risk_log: `shop` is part of the unique key; orders without a shop belong to
		//   the default shop '' (NULL becomes '', never NULL again: a NULL would slip past the unique key).
		// - events: a `shop` column, so the audit trail tells two shops' order 1001 apart.
		// - MySQL/MariaDB: every table is converted to a binary, no-pad collation: with the server's
		//   default (utf8mb4_general_ci) `ORD-X1` = `ord-x1` = `ord-x1 ` and `ord-e` = `ord-é`, so one
		//   buyer's order was taken for another's. Existing rows are checked first: should any unique
		//   key already hold two rows that the new comparison would call equal, the migration refuses
		//   (naming them) and changes nothing.
		// - SQLite: the one-statement claim (migration 003) is recreated with the shop in it.
		name: '005_order_identity',
		async up(knex, t) {
			const dialect = knex.client.dialect as string;
			const collation = dialect === 'mysql' ? await binaryCollation(knex) : null;
			await refuseCollisions(knex, t, collation);
			// SQLite: the claim view's trigger reads deliveries; it is recreated below with the shop in it.
			if (dialect === 'sqlite3') await knex.raw(`DROP VIEW IF EXISTS "${sqliteClaimView(t)}"`); // drops its trigger too
			if (collation) {
				for (const table of [t.meta, t.products, t.keys, t.deliveries, t.events, t.riskLog, t.riskLocks, t.blocklist, t.alerts]) {
					await knex.raw(`ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`, [table]);
				}
			}
			for (const table of [t.deliveries, t.riskLog]) {
				await knex(table).whereNull('shop').update({ shop: '' });
				// (SQLite: knex copies the table into one with the new column definition, indexes included.)
				await knex.schema.alterTable(table, (tb) => tb.string('shop', ID_MAX).notNullable().defaultTo('').alter());
			}
			await knex.schema.alterTable(t.deliveries, (tb) => {
				tb.dropUnique(['order_id', 'sku'], `${t.deliveries}_order_sku_uq`);
				tb.unique(['shop', 'order_id', 'sku'], { indexName: `${t.deliveries}_shop_order_sku_uq` });
			});
			await knex.schema.alterTable(t.riskLog, (tb) => {
				tb.dropUnique(['order_id', 'line'], `${t.riskLog}_order_uq`);
				tb.unique(['shop', 'order_id', 'line'], { indexName: `${t.riskLog}_shop_order_uq` });
			});
			await knex.schema.alterTable(t.events, (tb) => tb.string('shop', ID_MAX).nullable());
			if (dialect === 'sqlite3') for (const sql of sqliteClaimDdl(t)) await knex.raw(sql);
		},
		async down(knex, t) {
			// Back to (order_id, sku): refused while two shops hold the same order line. MySQL tables
			// keep the binary collation (comparing ids exactly is never wrong).
			for (const [table, cols] of [[t.deliveries, ['order_id', 'sku']], [t.riskLog, ['order_id', 'line']]] as const) {
				const dup = await knex(table).select(...cols).groupBy(...cols).havingRaw('count(*) > 1').first();
				if (dup) {
					throw new Error(`Cannot undo 005_order_identity: ${table} holds the same order line in several shops (${cols.map((c) => dup[c]).join(' / ')}).`);
				}
			}
			const dialect = knex.client.dialect as string;
			if (dialect === 'sqlite3') await knex.raw(`DROP VIEW IF EXISTS "${sqliteClaimView(t)}"`);
			await knex.schema.alterTable(t.events, (tb) => tb.dropColumn('shop'));
			await knex.schema.alterTable(t.riskLog, (tb) => {
				tb.dropUnique(['shop', 'order_id', 'line'], `${t.riskLog}_shop_order_uq`);
				tb.unique(['order_id', 'line'], { indexName: `${t.riskLog}_order_uq` });
			});
			await knex.schema.alterTable(t.deliveries, (tb) => {
				tb.dropUnique(['shop', 'order_id', 'sku'], `${t.deliveries}_shop_order_sku_uq`);
				tb.unique(['order_id', 'sku'], { indexName: `${t.deliveries}_order_sku_uq` });
			});
			for (const table of [t.deliveries, t.riskLog]) {
				await knex.schema.alterTable(table, (tb) => tb.string('shop', ID_MAX).nullable().alter());
			}
			if (dialect === 'sqlite3') for (const sql of sqliteClaimDdlV1(t)) await knex.raw(sql);
		},
	},
	{
		// The buyer's side (delivery page, External API products, delay notices, follow-ups).
		// - products: `kind` ('keys': pool keys or fixed content, as before; 'api': content fetched from
		//   the seller's endpoint), `settings` (JSON, never a secret: usage guide, after-sale note,
		//   recommended products, delay notice and follow-up settings) and `api_config` (sealed: the
		//   endpoint's URL, headers and body template may hold tokens).
		// - deliveries: the delivery page's first view and view count, a per-link rate-limit window,
		//   and the follow-up's time (never twice).
		// - waiting: order lines that could not be delivered at once (out of stock, held for review,
		//   the API failing), completed in order of payment when stock arrives or the order is approved;
		//   unique per order line (shop, order_id, sku) like deliveries.
		// - notices: one row per (shop, order_id, kind) for notices that must go out at most once per
		//   order (the delay notice); inserted before sending, so two workers never both send.
		// MySQL/MariaDB: the new tables get the binary collation of migration 005 (ids compared exactly).
		name: '006_buyer_side',
		async up(knex, t) {
			await knex.schema.alterTable(t.products, (tb) => {
				tb.string('kind', 16).notNullable().defaultTo('keys');
				tb.text('settings').nullable(); // JSON, never a secret
				tb.text('api_config').nullable(); // sealed JSON
			});
			await knex.schema.alterTable(t.deliveries, (tb) => {
				tb.bigInteger('viewed_at').nullable();
				tb.integer('view_count').notNullable().defaultTo(0);
				tb.bigInteger('view_window_at').nullable();
				tb.integer('view_window_count').notNullable().defaultTo(0);
				tb.bigInteger('follow_up_at').nullable();
			});
			await knex.schema.createTable(t.waiting, (tb) => {
				tb.increments('id').primary();
				tb.string('shop', ID_MAX).notNullable().defaultTo('');
				tb.string('order_id', ID_MAX).notNullable();
				tb.string('sku', ID_MAX).notNullable();
				tb.integer('quantity').notNullable();
				tb.string('reason', 32).notNullable(); // out_of_stock | review | api_failed | send_failed
				tb.string('status', 16).notNullable(); // waiting | delivered | cancelled
				tb.string('buyer_id', ID_MAX).nullable();
				tb.string('buyer_name', 255).nullable();
				tb.string('buyer_email', 320).nullable();
				tb.string('buyer_ip', 64).nullable();
				tb.decimal('amount', 14, 2).nullable();
				tb.bigInteger('paid_at').notNullable(); // order of completion
				tb.integer('delivery_id').nullable();
				tb.bigInteger('created_at').notNullable();
				tb.bigInteger('updated_at').notNullable();
				tb.unique(['shop', 'order_id', 'sku'], { indexName: `${t.waiting}_line_uq` });
				tb.index(['sku', 'status', 'paid_at', 'id'], `${t.waiting}_sku_ix`);
			});
			await knex.schema.createTable(t.notices, (tb) => {
				tb.increments('id').primary();
				tb.string('shop', ID_MAX).notNullable().defaultTo('');
				tb.string('order_id', ID_MAX).notNullable();
				tb.string('kind', 32).notNullable(); // delay | follow_up
				tb.string('status', 16).notNullable(); // sending | sent | failed
				tb.string('channel', 32).nullable();
				tb.bigInteger('at').notNullable();
				tb.unique(['shop', 'order_id', 'kind'], { indexName: `${t.notices}_uq` });
			});
			if (knex.client.dialect === 'mysql') {
				const collation = await binaryCollation(knex);
				for (const table of [t.waiting, t.notices]) {
					await knex.raw(`ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`, [table]);
				}
			}
		},
		async down(knex, t) {
			const sqlite = knex.client.dialect === 'sqlite3';
			// SQLite drops columns by copying the table, which the claim view's trigger (it reads
			// deliveries and products) does not survive: dropped first, recreated as 005 made it.
			if (sqlite) await knex.raw(`DROP VIEW IF EXISTS "${sqliteClaimView(t)}"`);
			for (const name of [t.notices, t.waiting]) await knex.schema.dropTableIfExists(name);
			await knex.schema.alterTable(t.deliveries, (tb) => tb.dropColumns('viewed_at', 'view_count', 'view_window_at', 'view_window_count', 'follow_up_at'));
			await knex.schema.alterTable(t.products, (tb) => tb.dropColumns('kind', 'settings', 'api_config'));
			if (sqlite) for (const sql of sqliteClaimDdl(t)) await knex.raw(sql);
		},
	},
	{
		// SQLite: the one-statement claim (migration 005's trigger) leaves External API products
		// (products.kind = 'api') to the careful path, which answers `external_api`: their content
		// comes from the seller's endpoint, never from pool keys (PostgreSQL's one-statement claim has
		// the same condition in code, dialects/postgres.ts; MySQL has no one-statement claim).
		name: '007_external_api_claim',
		async up(knex, t) {
			if (knex.client.dialect !== 'sqlite3') return;
			await knex.raw(`DROP VIEW IF EXISTS "${sqliteClaimView(t)}"`); // drops its trigger too
			for (const sql of claimDdl(t, 3)) await knex.raw(sql);
		},
		async down(knex, t) {
			if (knex.client.dialect !== 'sqlite3') return;
			await knex.raw(`DROP VIEW IF EXISTS "${sqliteClaimView(t)}"`);
			for (const sql of sqliteClaimDdl(t)) await knex.raw(sql);
		},
	},
];

/**
 * MySQL/MariaDB: the collation that compares byte for byte, trailing spaces included:
 * utf8mb4_nopad_bin (MariaDB ≥ 10.2), utf8mb4_0900_bin (MySQL ≥ 8.0.17), else utf8mb4_bin.
 */
export async function binaryCollation(knex: Knex): Promise<string> {
	const wanted = ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin', 'utf8mb4_bin'];
	const [rows] = (await knex.raw(`SHOW COLLATION WHERE Collation IN (${wanted.map(() => '?').join(', ')})`, wanted)) as [Array<{ Collation: string }>];
	const have = new Set(rows.map((r) => r.Collation));
	const found = wanted.find((c) => have.has(c));
	if (!found) throw new Error('This MySQL/MariaDB server has no utf8mb4 binary collation; the key store needs utf8mb4 (MySQL ≥ 5.7, MariaDB ≥ 10.2).');
	return found;
}

/**
 * Before migration 005: no unique key may hold two rows that the new identity calls equal
 * (MySQL: under the binary collation; deliveries/risk_log: with NULL shop read as ''). Refuses with
 * the first offending values named; nothing is changed.
 */
async function refuseCollisions(knex: Knex, t: TableNames, collation: string | null): Promise<void> {
	const col = (c: string) => (collation ? `${c === 'shop' ? "COALESCE(shop, '')" : knex.raw('??', [c]).toQuery()} COLLATE ${collation}` : c === 'shop' ? "COALESCE(shop, '')" : knex.raw('??', [c]).toQuery());
	const checks: Array<[string, string[]]> = [
		[t.deliveries, ['shop', 'order_id', 'sku']],
		[t.riskLog, ['shop', 'order_id', 'line']],
	];
	if (collation) {
		checks.push([t.products, ['sku']], [t.keys, ['sku', 'fingerprint']], [t.riskLocks, ['kind', 'value']], [t.blocklist, ['kind', 'value']], [t.alerts, ['sku']], [t.meta, ['name']]);
	}
	const problems: string[] = [];
	for (const [table, cols] of checks) {
		const exprs = cols.map(col);
		const rows = (await knex.select(knex.raw(exprs.map((e, i) => `${e} AS c${i}`).join(', '))).from(table).groupByRaw(exprs.join(', ')).havingRaw('count(*) > 1').limit(3)) as Array<Record<string, unknown>>;
		for (const r of rows) problems.push(`${table} (${cols.join(', ')}) = (${cols.map((_, i) => JSON.stringify(r[`c${i}`])).join(', ')})`);
	}
	if (problems.length) {
		throw new StoreError(
			`The key store cannot switch to exact (case- and accent-sensitive) ids: rows that must be unique would now be equal: ${problems.join('; ')}. ` +
				'Nothing was changed. Rename or remove one row of each pair, then open the store again.',
			'identity_collision',
		);
	}
}

/**
 * The condition of the partial pick indexes (migration 004), as a literal: a bound `status = ?`
 * would not let SQLite (nor a generic PostgreSQL plan) prove that such an index applies.
 */
export const AVAILABLE = "status = 'available'";

/** SQLite: the view a claim is inserted into (migration 003). */
export function sqliteClaimView(t: TableNames): string {
	return `${t.keys.slice(0, -'keys'.length)}claim`;
}

/**
 * SQLite: `INSERT INTO <prefix>claim (…) VALUES (…) RETURNING …` claims a NEW order line in one
 * statement — one driver call and one autocommit write transaction (a writing statement takes
 * SQLite's write lock when it starts, like BEGIN IMMEDIATE), or one statement of a group-committed
 * transaction. The view stores nothing; its INSTEAD OF trigger
 *  1. inserts the delivery, unless the sku is unknown or an External API product (007), the line exists (any status) or an
 *     order-wide refund tombstone (sku '*', revoked) exists — then RAISE(IGNORE): nothing changes,
 *     nothing is returned, and the caller runs the full claim;
 *  2. unless the product has fixed content, assigns `quantity` available keys to it, by seq or from
 *     the random point `rand_from` with wrap-around (index range scans, DESIGN §4);
 *  3. aborts the whole statement when fewer keys were assigned (all-or-nothing: the delivery insert
 *     is undone too) with the message `ad_claim_out_of_stock`;
 *  4. writes the `claimed` audit event (no secret) in the same statement.
 * An order line is `(shop, order_id, sku)` (migration 005; NEW.shop is '' for the default shop).
 * Changing the keys, deliveries, products or events columns used here needs a migration that
 * recreates this trigger.
 */
function sqliteClaimDdl(t: TableNames): string[] {
	return claimDdl(t, 2);
}

/** Migration 003's trigger as it was (identity (order_id, sku)): kept so that 003 and 005's down stay what they were. */
function sqliteClaimDdlV1(t: TableNames): string[] {
	return claimDdl(t, 1);
}

/** The claim trigger of migration 003 (version 1), 005 (2: with the shop) and 007 (3: no External API products). */
function claimDdl(t: TableNames, version: 1 | 2 | 3): string[] {
	const withShop = version >= 2;
	const notApi = version >= 3 ? " AND p.kind <> 'api'" : '';
	const v = sqliteClaimView(t);
	const k = `"${t.keys}"`;
	const d = `"${t.deliveries}"`;
	const order = (a: string) => (withShop ? `${a}.shop = NEW.shop AND ${a}.order_id = NEW.order_id` : `${a}.order_id = NEW.order_id`);
	const xLine = `${order('x')} AND x.sku = NEW.sku`;
	const deliveryId = `(SELECT n.id FROM ${d} n WHERE ${order('n')} AND n.sku = NEW.sku)`;
	const noFixed = `(SELECT n.content FROM ${d} n WHERE ${order('n')} AND n.sku = NEW.sku) IS NULL`;
	return [
		`CREATE VIEW "${v}" AS SELECT NULL AS order_id, NULL AS sku, NULL AS quantity, NULL AS strategy, NULL AS rand_from,
			NULL AS buyer_id, NULL AS buyer_name, NULL AS buyer_email, NULL AS buyer_ip, NULL AS amount, NULL AS shop,
			NULL AS now_ms, NULL AS actor WHERE 0`,
		`CREATE TRIGGER "${v}_insert" INSTEAD OF INSERT ON "${v}"
		BEGIN
			INSERT INTO ${d} (order_id, sku, quantity, status, strategy, content, buyer_id, buyer_name, buyer_email, buyer_ip, amount, shop, created_at, updated_at)
			SELECT NEW.order_id, p.sku, NEW.quantity, 'claimed', CASE WHEN p.fixed_content IS NULL THEN NEW.strategy END, p.fixed_content,
			       NEW.buyer_id, NEW.buyer_name, NEW.buyer_email, NEW.buyer_ip, NEW.amount, NEW.shop, NEW.now_ms, NEW.now_ms
			FROM "${t.products}" p
			WHERE p.sku = NEW.sku AND p.sku <> '*'${notApi}
			  AND NEW.strategy IN ('sequential', 'random') AND NEW.quantity >= 1
			  AND NOT EXISTS (SELECT 1 FROM ${d} w WHERE ${order('w')} AND (w.sku = NEW.sku OR (w.sku = '*' AND w.status = 'revoked')));
			SELECT RAISE(IGNORE) WHERE changes() = 0;
			UPDATE ${k} SET status = 'assigned', delivery_id = ${deliveryId}, assigned_at = NEW.now_ms
			WHERE NEW.strategy = 'sequential' AND ${noFixed} AND status = 'available'
			  AND id IN (SELECT id FROM ${k} WHERE sku = NEW.sku AND status = 'available' ORDER BY seq, id LIMIT NEW.quantity);
			UPDATE ${k} SET status = 'assigned', delivery_id = ${deliveryId}, assigned_at = NEW.now_ms
			WHERE NEW.strategy = 'random' AND ${noFixed} AND status = 'available'
			  AND id IN (SELECT id FROM (
			        SELECT * FROM (SELECT id, 0 AS w, rand FROM ${k} WHERE sku = NEW.sku AND status = 'available' AND rand >= NEW.rand_from ORDER BY rand, id LIMIT NEW.quantity)
			        UNION ALL
			        SELECT * FROM (SELECT id, 1 AS w, rand FROM ${k} WHERE sku = NEW.sku AND status = 'available' AND rand < NEW.rand_from ORDER BY rand, id LIMIT NEW.quantity)
			      ) ORDER BY w, rand, id LIMIT NEW.quantity);
			SELECT RAISE(ABORT, 'ad_claim_out_of_stock') FROM ${d} x
			WHERE ${xLine} AND x.content IS NULL
			  AND (SELECT count(*) FROM ${k} c WHERE c.delivery_id = x.id) <> NEW.quantity;
			INSERT INTO "${t.events}" (at, type, sku, order_id, ${withShop ? 'shop, ' : ''}delivery_id, count, actor, details)
			SELECT NEW.now_ms, 'claimed', NEW.sku, NEW.order_id, ${withShop ? 'NEW.shop, ' : ''}x.id, NEW.quantity, NEW.actor,
			       CASE WHEN x.content IS NULL
			            THEN json_object('keyIds', json((SELECT json_group_array(id) FROM (SELECT id FROM ${k} c WHERE c.delivery_id = x.id ORDER BY id))), 'strategy', NEW.strategy)
			            ELSE '{"fixedContent":true}' END
			FROM ${d} x WHERE ${xLine};
		END`,
	];
}

/** A Knex migration source bound to a table prefix. */
export class KeyStoreMigrations implements Knex.MigrationSource<Migration> {
	constructor(private readonly t: TableNames) {}

	async getMigrations(): Promise<Migration[]> {
		return migrations;
	}

	getMigrationName(m: Migration): string {
		return m.name;
	}

	async getMigration(m: Migration): Promise<Knex.Migration> {
		return {
			up: async (knex: Knex) => m.up(knex, this.t),
			down: async (knex: Knex) => m.down(knex, this.t),
		};
	}
}

export const LATEST_MIGRATION = migrations[migrations.length - 1].name;
