/** The native host's version: the daemon says it in its hello, the MCP server in its handshake. */
export const HOST_VERSION = '0.1.0';
