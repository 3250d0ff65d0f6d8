/** Intake: the canonical order and its field mapping, exact JSON, signatures, the raw body, the platform presets and the webhook decision (settings, answers, items). */
export * from './json';
export * from './order';
export * from './mapping';
export * from './signature';
export * from './rawBody';
export * from './platforms';
export * from './webhookSettings';
export * from './webhookAnswers';
export * from './webhookItems';
export * from './webhook';
export { completeWebhook, finishWebhook } from './platformWebhook';
