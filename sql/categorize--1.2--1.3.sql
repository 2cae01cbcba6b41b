/* categorize--1.2--1.3.sql: rules users can trust (conflicts, the review queue, dry runs of a rule change) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION categorize UPDATE TO '1.3'" to load this file. \quit
