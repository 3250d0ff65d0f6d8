/** What the email and webhook parameter groups share: the template variables, and showing a parameter for one channel. */
import type { IDisplayOptions } from 'n8n-workflow';

export const VARIABLES_HINT =
	'Variables: {productName} {deliveryContent} {orderId} {buyerName} {quantity} {date} {deliveryLink} {usageGuide} {afterSaleNote} {recommended} {expectedWithin} {reviewUrl} — or 中文 {商品名称} {发货内容} {订单号} {买家昵称} {数量} {购买日期} {提货链接} {使用说明} {售后说明} {推荐商品} {预计时间} {评价链接}';

/** A top-level parameter shown only for this Channel. */
export function forChannel(channel: 'email' | 'webhook'): IDisplayOptions {
	return { show: { channel: [channel] } };
}

/** An option of the Options collection shown only for this Channel. */
export function optionForChannel(channel: 'email' | 'webhook'): IDisplayOptions {
	return { show: { '/channel': [channel] } };
}
