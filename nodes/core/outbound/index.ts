/** Outbound transports: HTTP with retries (axios) and SMTP (nodemailer). */
export * from './http';
export * from './mailer';
