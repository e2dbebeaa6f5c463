"""政务信息资源目录: catalog entries from the registry and the dbt manifest, codes, exports, classification."""
