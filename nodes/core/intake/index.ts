/** Intake: the canonical order and its field mapping, exact JSON, signatures, the raw body and the webhook decision (settings, items). */
export * from './json';
export * from './order';
export * from './mapping';
export * from './signature';
export * from './rawBody';
export * from './webhookSettings';
export * from './webhookItems';
export * from './webhook';
