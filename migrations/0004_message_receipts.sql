CREATE TABLE `message_receipts` (
	`message_id` text NOT NULL,
	`participant` text NOT NULL,
	`delivered_at` text,
	`read_at` text,
	PRIMARY KEY(`message_id`, `participant`)
);
