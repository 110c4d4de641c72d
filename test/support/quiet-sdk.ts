// The SDK warns on Node 20 about its 2027 support policy; the warning says nothing about our code.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
