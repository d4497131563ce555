/**
 * Provider spellings → gen_ai.provider.name values (the OpenTelemetry well-known ones where one
 * exists). Looked up lowercased, then with trailing `.segment`s dropped (AI SDK `openai.chat`).
 */
export const PROVIDER_NAMES: Readonly<Record<string, string>> = {
  openai: 'openai',
  azure: 'azure.ai.openai',
  'azure-openai': 'azure.ai.openai',
  azure_openai: 'azure.ai.openai',
  'azure.ai.openai': 'azure.ai.openai',
  anthropic: 'anthropic',
  google: 'gcp.gemini',
  gemini: 'gcp.gemini',
  'google.generative-ai': 'gcp.gemini',
  'google-genai': 'gcp.gemini',
  google_genai: 'gcp.gemini',
  'gcp.gemini': 'gcp.gemini',
  vertexai: 'gcp.vertex_ai',
  vertex_ai: 'gcp.vertex_ai',
  'vertex ai': 'gcp.vertex_ai',
  'google.vertex': 'gcp.vertex_ai',
  'gcp.vertex_ai': 'gcp.vertex_ai',
  bedrock: 'aws.bedrock',
  aws: 'aws.bedrock',
  'amazon-bedrock': 'aws.bedrock',
  aws_bedrock: 'aws.bedrock',
  'aws.bedrock': 'aws.bedrock',
  mistral: 'mistral_ai',
  mistralai: 'mistral_ai',
  mistral_ai: 'mistral_ai',
  cohere: 'cohere',
  groq: 'groq',
  deepseek: 'deepseek',
  xai: 'x_ai',
  'x-ai': 'x_ai',
  x_ai: 'x_ai',
  perplexity: 'perplexity',
  watsonx: 'ibm.watsonx.ai',
  'ibm.watsonx.ai': 'ibm.watsonx.ai',
  together: 'together_ai',
  togetherai: 'together_ai',
  together_ai: 'together_ai',
  fireworks: 'fireworks_ai',
  fireworks_ai: 'fireworks_ai',
  cerebras: 'cerebras',
  ollama: 'ollama',
};

export function canonicalProvider(value: string): string | undefined {
  let key = value.trim().toLowerCase();
  if (key === '') return undefined;
  for (;;) {
    if (Object.hasOwn(PROVIDER_NAMES, key)) return PROVIDER_NAMES[key];
    const dot = key.lastIndexOf('.');
    if (dot <= 0) break;
    key = key.slice(0, dot);
  }
  return value.trim().toLowerCase();
}
