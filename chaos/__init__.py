"""The chaos run (`make chaos`): a seeded fault-injection run through the real services, on in-memory fakes or
on the local stack, that counts duplicates and lost posts from the platform sandbox's own record. Not deployed."""
