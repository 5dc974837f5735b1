import Testing

@testable import VigilStorage

@Suite struct SQLStatementsTests {
    @Test(arguments: [
        ("CREATE TABLE a (x int); CREATE TABLE b (y int);", ["CREATE TABLE a (x int)", "CREATE TABLE b (y int)"]),
        ("SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
        ("SELECT 'it''s;'; SELECT 3", ["SELECT 'it''s;'", "SELECT 3"]),
        (#"SELECT E'\';x'; SELECT 4"#, [#"SELECT E'\';x'"#, "SELECT 4"]),
        (#"SELECT "a;b" FROM t; SELECT 5"#, [#"SELECT "a;b" FROM t"#, "SELECT 5"]),
        ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 6", ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT 6"]),
        ("DO $body$ BEGIN PERFORM 1; END $body$; SELECT 7", ["DO $body$ BEGIN PERFORM 1; END $body$", "SELECT 7"]),
        ("-- a comment; not a statement\nSELECT 8;", ["-- a comment; not a statement\nSELECT 8"]),
        ("/* one; /* nested; */ still; */ SELECT 9;", ["/* one; /* nested; */ still; */ SELECT 9"]),
        ("SELECT 1;\n-- trailing comment only\n", ["SELECT 1"]),
        ("PREPARE p AS SELECT $1; EXECUTE p(1)", ["PREPARE p AS SELECT $1", "EXECUTE p(1)"]),
        ("  ;; ", []),
    ])
    func statementsSplitOnlyOnTopLevelSemicolons(sql: String, expected: [String]) {
        #expect(SQLStatements.split(sql) == expected)
    }
}
