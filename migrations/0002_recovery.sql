ALTER TABLE `webhook_deliveries` ADD `generation` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due_idx` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `messages_pending_idx` ON `messages` (`status`,`whatsapp_session_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_scheduled_idx` ON `messages` (`status`,`whatsapp_session_id`,`scheduled_at`);