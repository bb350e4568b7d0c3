-- Trigram matching for the inbox's text search (contact name, phone, e-mail).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
