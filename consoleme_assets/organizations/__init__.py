"""Service control policies and the organization structure
(ConsoleMe cache_scps_across_organizations, cache_organization_structure)."""
