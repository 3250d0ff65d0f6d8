/** Delivery: templates, Notify Buyer (send + record), Mark Shipped (ship + record), item shapes. */
export * from './template';
export * from './notify';
export * from './ship';
export * from './output';
