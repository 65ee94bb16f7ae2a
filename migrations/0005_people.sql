CREATE TABLE `chats` (
	`session_id` text NOT NULL,
	`chat_id` text NOT NULL,
	`account_id` text NOT NULL,
	`name` text,
	`archived` integer DEFAULT false NOT NULL,
	`pinned_at` text,
	`muted` integer DEFAULT false NOT NULL,
	`muted_until` text,
	`cleared_at` text,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`session_id`, `chat_id`)
);
--> statement-breakpoint
CREATE TABLE `contacts` (
	`session_id` text NOT NULL,
	`contact_key` text NOT NULL,
	`phone_number` text,
	`lid` text,
	`name` text,
	`push_name` text,
	`verified_name` text,
	`business` integer,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`session_id`, `contact_key`)
);
--> statement-breakpoint
CREATE INDEX `contacts_session_lid_idx` ON `contacts` (`session_id`,`lid`);--> statement-breakpoint
ALTER TABLE `messages` ADD `from_lid` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `chat_lid` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `chat_key` text GENERATED ALWAYS AS (CASE WHEN `direction` = 'outgoing' THEN `to_number` WHEN json_valid(`payload`) THEN replace(json_extract(`payload`, '$.chat_id'), '@s.whatsapp.net', '') END) VIRTUAL;--> statement-breakpoint
CREATE INDEX `messages_session_chat_idx` ON `messages` (`whatsapp_session_id`,`chat_key`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_session_unread_idx` ON `messages` (`whatsapp_session_id`,`chat_key`,`created_at`) WHERE direction = 'incoming' AND read_at IS NULL;