/** Delivery: templates, Notify Buyer (channels; send + record), Mark Shipped (shop request; ship + record), item shapes. */
export * from './template';
export * from './channels';
export * from './notify';
export * from './shipRequest';
export * from './ship';
export * from './shipPlatforms';
export * from './output';
export * from './link';
export * from './page';
export * from './followUp';
export * from './externalApi';
export * from './apiDelivery';
export * from './delay';
