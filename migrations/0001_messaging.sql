CREATE TABLE `campaigns` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`whatsapp_session_id` text NOT NULL,
	`type` text NOT NULL,
	`total` integer NOT NULL,
	`delay_between` integer DEFAULT 500 NOT NULL,
	`scheduled_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `campaigns_account_idx` ON `campaigns` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `daily_usage` (
	`account_id` text NOT NULL,
	`day` text NOT NULL,
	`messages` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`account_id`, `day`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`account_id` text NOT NULL,
	`key` text NOT NULL,
	`method` text NOT NULL,
	`path` text NOT NULL,
	`request_hash` text NOT NULL,
	`status_code` integer NOT NULL,
	`response` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`account_id`, `key`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`whatsapp_session_id` text NOT NULL,
	`campaign_id` text,
	`otp_id` text,
	`provider_message_id` text,
	`from_number` text,
	`to_number` text NOT NULL,
	`type` text NOT NULL,
	`content` text,
	`media_url` text,
	`payload` text,
	`status` text NOT NULL,
	`direction` text NOT NULL,
	`reason` text,
	`cost` real DEFAULT 0 NOT NULL,
	`metadata` text,
	`idempotency_key` text,
	`callback_url` text,
	`callback_data` text,
	`scheduled_at` text,
	`sent_at` text,
	`delivered_at` text,
	`read_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `messages_account_created_idx` ON `messages` (`account_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `messages_account_session_idx` ON `messages` (`account_id`,`whatsapp_session_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_account_status_idx` ON `messages` (`account_id`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_account_to_idx` ON `messages` (`account_id`,`to_number`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_account_from_idx` ON `messages` (`account_id`,`from_number`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_account_direction_idx` ON `messages` (`account_id`,`direction`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_account_type_idx` ON `messages` (`account_id`,`type`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_campaign_idx` ON `messages` (`campaign_id`,`status`);--> statement-breakpoint
CREATE INDEX `messages_provider_idx` ON `messages` (`whatsapp_session_id`,`provider_message_id`);--> statement-breakpoint
CREATE TABLE `webhook_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`delivery_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`status_code` integer,
	`error` text,
	`duration_ms` integer NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`delivery_id`) REFERENCES `webhook_deliveries`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webhook_attempts_delivery_idx` ON `webhook_attempts` (`delivery_id`,`attempt`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`webhook_id` text,
	`url` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_status_code` integer,
	`last_error` text,
	`next_attempt_at` text,
	`delivered_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook_idx` ON `webhook_deliveries` (`webhook_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_account_idx` ON `webhook_deliveries` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`whatsapp_session_id` text,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`secret` text NOT NULL,
	`headers` text,
	`filters` text,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webhooks_account_idx` ON `webhooks` (`account_id`,`created_at`);