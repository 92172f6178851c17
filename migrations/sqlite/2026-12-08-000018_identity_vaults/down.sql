DROP TABLE identity_vaults;
