-- Only Vigil's own roles may use the tenant's schema. Each table's migration then grants exactly
-- what each role needs: the application role DML on mutable tables and INSERT/SELECT on
-- append-only ones, the sequencer role SELECT on entries and INSERT on its side tables.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO vigil_application, vigil_sequencer;
