/* categorize--1.1--1.2.sql: learning 2.0, a read path that never writes, rule health, scale-out */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION categorize UPDATE TO '1.2'" to load this file. \quit
