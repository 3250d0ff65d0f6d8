/** Key store: the only place that talks to the database (KeyStore facade, connection, dialects, schema). */
export * from './KeyStore';
export * from './connection';
export * from './registry';
export type { AlertStore, AlertTx, StalledDelivery, StockState } from './alerts';
export type { EventFields } from './events';
export type { DueQuery, FollowUpEvent, FollowUpProduct, FollowUpStore, TakenFollowUp } from './followUps';
export { DEFAULT_FOLLOW_UP_MAX_LATE_HOURS, FOLLOW_UP_STATUSES, followUpWindow, isFollowUpDue } from './followUps';
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
