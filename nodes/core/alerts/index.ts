/** Stock Alert: thresholds and stuck deliveries. */
export * from './alerts';
