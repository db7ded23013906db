-- Renders of a delivery's custom template begun and not finished (a render that took the process down); a
-- delivery whose template was begun twice without finishing goes out with Fence's default message.
ALTER TABLE deliveries ADD COLUMN template_renders INTEGER NOT NULL DEFAULT 0;
