/** Key store: the only place that talks to the database (KeyStore facade, connection, dialects, schema). */
export * from './KeyStore';
export * from './connection';
export * from './registry';
export type { AlertStore, AlertTx, StalledDelivery, StockState } from './alerts';
export type { EventFields } from './events';
export type {
	BlockEntry,
	BlockHit,
	BlockKind,
	NewRiskDecision,
	RecordedDecision,
	RiskDecision,
	RiskLine,
	RiskLogEntry,
	RiskLogReason,
	RiskStore,
	RiskTx,
} from './riskLog';
