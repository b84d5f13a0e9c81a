-- Deletes a service.
-- $1 service id
-- Returns: nothing.
DELETE FROM services WHERE id = $1;
